// The rollout's verdict must be able to fail: each check is fed a run with
// exactly one kind of loss and must name it.
import assert from 'node:assert/strict';
import { checkSpans, formatReport, verdict, type RolloutResult } from '../examples/rollout/checks.js';
import type { ReceivedSpan } from '../examples/rollout/otlp-receiver.js';

const T1 = '0af7651916cd43dd8448eb211c80319c';
const T2 = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = (traceId: string, spanId: string, parentSpanId: string, name: string): ReceivedSpan => ({
  traceId,
  spanId,
  parentSpanId,
  name,
  kind: 1,
  serviceName: 'orders',
  statusCode: 0,
  links: [],
});
const incoming = new Map([
  [T1, 'b7ad6b7169203331'],
  [T2, '00f067aa0ba902b7'],
]);

/** A run with nothing lost: each test changes what it is about. */
const CLEAN: RolloutResult = {
  durationMs: 1000,
  requests: { sent: 10, succeeded: 10, failed: 0, cutAtEnd: 0 },
  spans: { expected: 20, exported: 20, lost: 0, received: 20, missingParent: 0, foreignTraceId: 0 },
  jobs: { started: 10, completed: 10, failed: 0, abandoned: 0 },
  scrapes: { attempted: 3, failed: 0, failures: [] },
  restarts: [{ worker: 'worker 1', replacedInMs: 100, shutdownMs: 200, exitCode: 0 }],
};

describe('rollout checks', () => {
  it('counts a complete trace as exported and nothing as lost', () => {
    const spans = [span(T1, 'a000000000000001', 'b7ad6b7169203331', 'POST /orders'), span(T1, 'a000000000000002', 'a000000000000001', 'job')];
    assert.deepEqual(checkSpans(spans, incoming, new Set([T1]), ['POST /orders', 'job']), {
      expected: 2,
      exported: 2,
      lost: 0,
      received: 2,
      missingParent: 0,
      foreignTraceId: 0,
    });
  });

  it('finds lost spans, orphaned children and foreign trace ids', () => {
    const spans = [
      span(T1, 'a000000000000001', 'b7ad6b7169203331', 'POST /orders'),
      span(T2, 'a000000000000003', 'ffffffffffffffff', 'POST /orders'),
      span('11111111111111111111111111111111', 'a000000000000004', '', 'POST /orders'),
    ];
    const check = checkSpans(spans, incoming, new Set([T1, T2]), ['POST /orders', 'job']);
    assert.equal(check.lost, 2);
    assert.equal(check.missingParent, 1);
    assert.equal(check.foreignTraceId, 1);
  });

  it('passes a clean run and names every problem of a bad one', () => {
    const clean = CLEAN;
    assert.deepEqual(verdict(clean), []);
    const bad: RolloutResult = {
      ...clean,
      requests: { ...clean.requests, failed: 1 },
      spans: { ...clean.spans, lost: 1 },
      jobs: { started: 10, completed: 9, failed: 0, abandoned: 1 },
      scrapes: { attempted: 3, failed: 2, failures: ['at 1.0 s: socket hang up', 'at 2.0 s: status 503: '] },
      restarts: [{ worker: 'worker 1', replacedInMs: 100, shutdownMs: 200, exitCode: 1 }],
    };
    assert.deepEqual(verdict(bad), [
      '1 requests failed',
      '1 spans of successful requests never reached the receiver',
      '1 detached jobs were abandoned',
      '2 /metrics scrapes failed: at 1.0 s: socket hang up; at 2.0 s: status 503: ',
      'worker 1 exited with code 1',
    ]);
  });

  it('reports replaced workers apart from the ones stopped at the end', () => {
    const result: RolloutResult = {
      ...CLEAN,
      durationMs: 8_100,
      restarts: [
        { worker: 'worker 1', replacedInMs: 1503, shutdownMs: 568, exitCode: 0 },
        { worker: 'worker 3 (final stop)', shutdownMs: 537, exitCode: 0 },
      ],
    };
    const lines = formatReport(result, []).split('\n');
    assert.equal(lines[0], 'rollout: 8.1 s of load, 1 worker(s) replaced under load, 1 stopped at the end');
    assert.ok(lines.includes('restart    worker 1: replacement ready in 1503 ms, old worker shut down in 568 ms, exit code 0'));
    assert.ok(lines.includes('stop       worker 3 (final stop): shut down in 537 ms, exit code 0'));
    assert.equal(lines.at(-1), 'PASS: no request, span, job or scrape lost');
  });
});
