// The rollout's verdict must be able to fail: each check is fed a run with
// exactly one kind of loss and must name it.
import assert from 'node:assert/strict';
import { checkSpans, formatReport, verdict, type RolloutResult } from '../../../examples/rollout/checks.js';
import type { ReceivedSpan } from '../../../examples/rollout/otlp-receiver.js';

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

  // Every branch of verdict(), each fed CLEAN with the least change that trips
  // it (or, for the boundaries, that must not): the exact sentences, in order.
  const VERDICT_CASES: readonly { title: string; change: Partial<RolloutResult>; problems: string[] }[] = [
    {
      title: 'no request succeeded',
      change: { requests: { ...CLEAN.requests, succeeded: 0, cutAtEnd: 10 } },
      problems: ['no request succeeded: the load never reached the service'],
    },
    {
      title: 'requests failed',
      change: { requests: { ...CLEAN.requests, succeeded: 8, failed: 2 } },
      problems: ['2 requests failed'],
    },
    {
      title: 'every request failed: both sentences',
      change: { requests: { ...CLEAN.requests, succeeded: 0, failed: 10 } },
      problems: ['no request succeeded: the load never reached the service', '10 requests failed'],
    },
    {
      title: 'spans of successful requests lost',
      change: { spans: { ...CLEAN.spans, exported: 17, received: 17, lost: 3 } },
      problems: ['3 spans of successful requests never reached the receiver'],
    },
    {
      title: 'a span whose parent was never exported',
      change: { spans: { ...CLEAN.spans, missingParent: 1 } },
      problems: ['1 spans have a parent that was never exported'],
    },
    {
      title: 'spans on a trace id no client sent',
      change: { spans: { ...CLEAN.spans, received: 22, foreignTraceId: 2 } },
      problems: ['2 spans are on a trace id no client sent'],
    },
    {
      title: 'a detached job abandoned (the counts add up)',
      change: { jobs: { started: 10, completed: 9, failed: 0, abandoned: 1 } },
      problems: ['1 detached jobs were abandoned'],
    },
    {
      title: 'detached jobs that failed but add up are not a problem',
      change: { jobs: { started: 10, completed: 8, failed: 2, abandoned: 0 } },
      problems: [],
    },
    {
      title: 'a started job that never settled',
      change: { jobs: { ...CLEAN.jobs, started: 11 } },
      problems: ['detached jobs do not add up: {"started":11,"completed":10,"failed":0,"abandoned":0}'],
    },
    {
      title: 'more jobs settled than started',
      change: { jobs: { ...CLEAN.jobs, completed: 11 } },
      problems: ['detached jobs do not add up: {"started":10,"completed":11,"failed":0,"abandoned":0}'],
    },
    {
      title: 'an abandoned job that also breaks the count: both sentences',
      change: { jobs: { ...CLEAN.jobs, abandoned: 1 } },
      problems: ['1 detached jobs were abandoned', 'detached jobs do not add up: {"started":10,"completed":10,"failed":0,"abandoned":1}'],
    },
    {
      title: '/metrics never scraped',
      change: { scrapes: { attempted: 0, failed: 0, failures: [] } },
      problems: ['/metrics was never scraped'],
    },
    {
      title: 'one scrape is enough',
      change: { scrapes: { attempted: 1, failed: 0, failures: [] } },
      problems: [],
    },
    {
      title: 'scrapes failed, with why and when',
      change: { scrapes: { attempted: 3, failed: 2, failures: ['at 1.0 s: socket hang up', 'at 2.0 s: status 503: '] } },
      problems: ['2 /metrics scrapes failed: at 1.0 s: socket hang up; at 2.0 s: status 503: '],
    },
    {
      title: 'a replaced worker exited 1',
      change: { restarts: [{ ...CLEAN.restarts[0]!, exitCode: 1 }] },
      problems: ['worker 1 exited with code 1'],
    },
    {
      title: 'a worker killed by a signal (exit code null)',
      change: { restarts: [{ ...CLEAN.restarts[0]!, exitCode: null }] },
      problems: ['worker 1 exited with code null'],
    },
    {
      title: 'one sentence per worker that did not exit 0, in order, the ones that did left out',
      change: {
        restarts: [
          { worker: 'worker 1', replacedInMs: 100, shutdownMs: 200, exitCode: 0 },
          { worker: 'worker 2', replacedInMs: 100, shutdownMs: 200, exitCode: 1 },
          { worker: 'worker 3 (final stop)', shutdownMs: 300, exitCode: null },
        ],
      },
      problems: ['worker 2 exited with code 1', 'worker 3 (final stop) exited with code null'],
    },
    {
      title: 'everything at once: every sentence, in the order verdict() checks',
      change: {
        requests: { sent: 10, succeeded: 0, failed: 10, cutAtEnd: 0 },
        spans: { expected: 20, exported: 16, lost: 4, received: 19, missingParent: 1, foreignTraceId: 3 },
        jobs: { started: 10, completed: 8, failed: 0, abandoned: 1 },
        scrapes: { attempted: 0, failed: 1, failures: ['at 0.5 s: ECONNREFUSED'] },
        restarts: [{ worker: 'worker 1', replacedInMs: 100, shutdownMs: 200, exitCode: 1 }],
      },
      problems: [
        'no request succeeded: the load never reached the service',
        '10 requests failed',
        '4 spans of successful requests never reached the receiver',
        '1 spans have a parent that was never exported',
        '3 spans are on a trace id no client sent',
        '1 detached jobs were abandoned',
        'detached jobs do not add up: {"started":10,"completed":8,"failed":0,"abandoned":1}',
        '/metrics was never scraped',
        '1 /metrics scrapes failed: at 0.5 s: ECONNREFUSED',
        'worker 1 exited with code 1',
      ],
    },
  ];

  describe('verdict() names each way a run can fail', () => {
    it('a clean run: no problem', () => {
      assert.deepEqual(verdict(CLEAN), []);
    });
    for (const { title, change, problems } of VERDICT_CASES) {
      it(title, () => {
        assert.deepEqual(verdict({ ...CLEAN, ...change }), problems);
      });
    }
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
