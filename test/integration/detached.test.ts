import {
  context,
  diag,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter, once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ATTR_DETACHED_ID,
  bindDetached,
  bindEmitter,
  childEnv,
  contextFromEnv,
  drainDetached,
  injectContext,
  runDetached,
  runningJobCount,
  runWithContext,
  RUN_DETACHED_DEFAULTS,
  type RunWithContextOptions,
  tryGetTraceContext,
} from '../../src/index.js';
import type { JobEvent } from '../../src/internal/channels.js';
import { tsWorker, withoutCoverage } from '../helpers/subprocess.js';
import { activeIsRoot, captureDiag, installTracing, resetPropagation, type TestTracing } from '../helpers/otel.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

let tracing: TestTracing;

/** Runs `fn` inside a fresh recording span (like a request's SERVER span). */
function inSpan<T>(name: string, fn: (span: Span, ctx: Context) => T): T {
  const span = trace.getTracer('test').startSpan(name, {}, ROOT_CONTEXT);
  const ctx = trace.setSpan(ROOT_CONTEXT, span);
  try {
    return context.with(ctx, () => fn(span, ctx));
  } finally {
    span.end();
  }
}

/** Collects 'unhandledRejection' events while a test runs. */
function watchUnhandled(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  return { reasons, stop: () => process.off('unhandledRejection', listener) };
}

/** The trace id of a carrier's traceparent. */
const traceIdOf = (carrier: Record<string, unknown>) => String(carrier['traceparent']).slice(3, 35);

/** Resolves after the current macrotask queue (and any pending rejection checks) have run. */
const turn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

describe('detached work and carriers', () => {
  beforeEach(() => {
    resetPropagation();
    tracing = installTracing();
  });
  afterEach(async () => {
    diag.disable();
    await tracing.shutdown();
    assert.equal(runningJobCount(), 0, 'no detached job left running');
    assert.ok(activeIsRoot(), 'the active context is back to root after the test');
  });

  describe('runDetached()', () => {
    it('runs the job on a later macrotask, in a child span of the caller', async () => {
      let ranSync = false;
      let seen: ReturnType<typeof tryGetTraceContext>;
      const { handle, caller } = inSpan('request', (span) => {
        const h = runDetached(function sendEmail() {
          ranSync = true;
          seen = tryGetTraceContext();
          return 42;
        });
        return { handle: h, caller: span.spanContext() };
      });
      await Promise.resolve();
      assert.equal(ranSync, false, 'not run in the same tick, not even a microtask later');
      assert.deepEqual(await handle.done, { ok: true, value: 42 });
      const [job] = tracing.spansNamed('sendEmail');
      assert.ok(job);
      assert.equal(job.kind, SpanKind.INTERNAL);
      assert.equal(job.spanContext().traceId, caller.traceId);
      assert.equal(job.parentSpanContext?.spanId, caller.spanId);
      assert.equal(job.attributes[ATTR_DETACHED_ID], handle.id);
      assert.equal(job.status.code, SpanStatusCode.UNSET);
      assert.equal(seen?.traceId, caller.traceId);
      assert.equal(seen?.spanId, job.spanContext().spanId, 'the job span is active inside the job');
    });

    it('names the span from options.name, then the function name, then "detached"', async () => {
      const a = runDetached(function named() {}, { name: 'explicit' });
      const b = runDetached(function fromFunction() {});
      const c = runDetached(() => {});
      await Promise.all([a.done, b.done, c.done]);
      assert.deepEqual(tracing.spans().map((s) => s.name).sort(), ['detached', 'explicit', 'fromFunction']);
    });

    it('with link: true starts a new trace that links to the caller', async () => {
      const { handle, caller } = inSpan('request', (span) => ({
        handle: runDetached(() => tryGetTraceContext()?.traceId, { name: 'report', link: true }),
        caller: span.spanContext(),
      }));
      const result = await handle.done;
      const [job] = tracing.spansNamed('report');
      assert.ok(job && result.ok);
      assert.notEqual(job.spanContext().traceId, caller.traceId);
      assert.equal(job.parentSpanContext, undefined, 'a root span');
      assert.equal(result.value, job.spanContext().traceId, 'the new trace is active inside the job');
      assert.equal(job.links.length, 1);
      assert.equal(job.links[0]?.context.traceId, caller.traceId);
      assert.equal(job.links[0]?.context.spanId, caller.spanId);
    });

    it('keeps the caller context values (baggage) for the job', async () => {
      const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
      const handle = context.with(propagation.setBaggage(context.active(), bag), () =>
        runDetached(() => propagation.getActiveBaggage()?.getEntry('tenant')?.value),
      );
      assert.deepEqual(await handle.done, { ok: true, value: 'acme' });
    });

    it('waits delayMs before starting', async () => {
      const calledAt = performance.now();
      const handle = runDetached(() => performance.now() - calledAt, { delayMs: 40 });
      const result = await handle.done;
      assert.ok(result.ok);
      assert.ok(result.value >= 39, `started after ${result.value} ms`);
      assert.equal(RUN_DETACHED_DEFAULTS.delayMs, 0);
    });

    it('runs a job outside any trace as a root span', async () => {
      const handle = runDetached(() => 'x', { name: 'cron' });
      await handle.done;
      const [job] = tracing.spansNamed('cron');
      assert.ok(job, 'the job span was exported');
      assert.equal(job.parentSpanContext, undefined);
    });

    for (const [label, job] of [
      ['a thrown error', () => { throw new RangeError('boom'); }],
      ['a rejected promise', () => Promise.reject(new RangeError('boom'))],
      ['an async function that throws', async () => { await Promise.resolve(); throw new RangeError('boom'); }],
    ] as const) {
      it(`records ${label}: span status, exception event, diag, onError; never an unhandledRejection`, async () => {
        const seen = captureDiag();
        const unhandled = watchUnhandled();
        const errors: unknown[] = [];
        const events: JobEvent[] = [];
        const onEvent = (message: unknown) => events.push(message as JobEvent);
        subscribe('throughline:detached:job', onEvent);
        try {
          const handle = inSpan('request', () => runDetached(job, { name: 'failing', onError: (e, info) => errors.push(e, info) }));
          const result = await handle.done;
          await turn();
          assert.equal(result.ok, false);
          assert.ok(!result.ok && result.error instanceof RangeError);
          const [span] = tracing.spansNamed('failing');
          assert.ok(span);
          assert.equal(span.status.code, SpanStatusCode.ERROR);
          assert.equal(span.status.message, 'boom');
          assert.equal(span.attributes['error.type'], 'RangeError');
          assert.equal(span.events[0]?.name, 'exception');
          assert.equal(span.events[0]?.attributes?.['exception.message'], 'boom');
          assert.equal(errors.length, 2);
          assert.ok(errors[0] instanceof RangeError);
          assert.deepEqual(errors[1], { id: handle.id, name: 'failing' });
          assert.equal(seen.errors.length, 1);
          assert.match(seen.errors[0]!, /detached job "failing" \(#\d+\) failed: boom/);
          assert.deepEqual(
            events.map((e) => [e.type, e.id, e.outcome]),
            [['start', handle.id, undefined], ['settle', handle.id, 'failed']],
          );
          assert.deepEqual(unhandled.reasons, []);
        } finally {
          unhandled.stop();
          unsubscribe('throughline:detached:job', onEvent);
        }
      });
    }

    it('ignoring `done` of a failed job causes no unhandledRejection, and a throwing onError is only logged', async () => {
      const seen = captureDiag();
      const unhandled = watchUnhandled();
      try {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the non-Error case is the point
        runDetached(() => { throw 'not an Error'; }, { name: 'ignored', onError: () => { throw new Error('hook broke'); } });
        while (tracing.spansNamed('ignored').length === 0) await turn();
        await turn();
        assert.deepEqual(unhandled.reasons, []);
        const [span] = tracing.spansNamed('ignored');
        assert.equal(span?.events[0]?.attributes?.['exception.message'], 'not an Error');
        assert.equal(span?.attributes['error.type'], 'Error');
        assert.equal(seen.errors.length, 2);
        assert.match(seen.errors[1]!, /onError of detached job "ignored"/);
      } finally {
        unhandled.stop();
      }
    });

    it('validates its options with TypeErrors naming the option', () => {
      const bad: [unknown, unknown, RegExp][] = [
        ['not a function', undefined, /`job` to be a function/],
        [() => {}, null, /`options` to be an options object/],
        [() => {}, { delayMs: -1 }, /`delayMs` to be a finite number >= 0, got `-1`/],
        [() => {}, { delayMs: Infinity }, /`delayMs`/],
        [() => {}, { link: 'yes' }, /`link` to be a boolean/],
        [() => {}, { name: '' }, /`name` to be a non-empty string/],
        [() => {}, { onError: 5 }, /`onError` to be a function/],
        [() => {}, { delay: 5 }, /Unknown option `delay` passed to runDetached\(\)/],
      ];
      for (const [job, options, message] of bad) {
        assert.throws(() => runDetached(job as () => void, options as object), (e: unknown) => e instanceof TypeError && message.test(e.message));
      }
      assert.equal(runningJobCount(), 0, 'an invalid call tracks nothing');
    });
  });

  describe('drainDetached() with runDetached()', () => {
    it('resolves at once when nothing runs', async () => {
      assert.deepEqual(await drainDetached({ timeoutMs: 60_000 }), { completed: 0, failed: 0, abandoned: [], abandonedCount: 0 });
    });

    it('waits for running jobs and counts their outcomes', async () => {
      const ok = runDetached(async () => { await new Promise((r) => setTimeout(r, 20)); });
      const ko = runDetached(async () => { await new Promise((r) => setTimeout(r, 30)); throw new Error('late'); });
      captureDiag();
      assert.equal(runningJobCount(), 2);
      const report = await drainDetached({ timeoutMs: 10_000 });
      assert.deepEqual(report, { completed: 1, failed: 1, abandoned: [], abandonedCount: 0 });
      assert.equal((await ok.done).ok, true);
      assert.equal((await ko.done).ok, false);
    });

    it('aborts the signal of jobs still running at the deadline and ends their spans', async () => {
      const seen = captureDiag();
      let aborted: unknown;
      const stuck = inSpan('request', () =>
        runDetached(
          ({ signal }) =>
            new Promise<void>((resolve) => {
              signal.addEventListener('abort', () => {
                aborted = signal.reason;
                resolve();
              });
            }),
          { name: 'stuck' },
        ),
      );
      let ranLate = false;
      const late = runDetached(() => { ranLate = true; }, { name: 'late', delayMs: 60_000 });
      await new Promise((r) => setImmediate(r));
      const report = await drainDetached({ timeoutMs: 50 });
      assert.equal(report.completed, 0);
      assert.equal(report.failed, 0);
      assert.deepEqual(report.abandoned.map((j) => [j.id, j.name]), [[stuck.id, 'stuck'], [late.id, 'late']]);
      assert.ok(report.abandoned.every((j) => j.ageMs >= 45), 'ages cover the wait');
      assert.ok(aborted instanceof Error && /abandoned at shutdown after 50 ms/.test(aborted.message));
      const stuckResult = await stuck.done;
      assert.equal(stuckResult.ok, false);
      const lateResult = await late.done;
      assert.equal(lateResult.ok, false);
      assert.equal(ranLate, false, 'a job abandoned before it started never runs');
      const [span] = tracing.spansNamed('stuck');
      assert.ok(span, 'the abandoned job span is ended, so a flush at shutdown still exports it');
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.attributes['error.type'], 'abandoned');
      assert.equal(seen.warnings.length, 0, 'abandoned jobs are summarized by whoever drains (the jobs phase), not logged one by one');
      assert.equal(runningJobCount(), 0);
    });
  });

  describe('bindDetached()', () => {
    it('runs the callback in the context it was bound in, whoever calls it', () => {
      const waiting: (() => string | undefined)[] = [];
      const a = inSpan('a', (span) => {
        waiting.push(bindDetached(() => tryGetTraceContext()?.traceId));
        return span.spanContext().traceId;
      });
      // Called from another request's context, as a pool calls back on release.
      const seen = inSpan('b', () => waiting.shift()!());
      assert.equal(seen, a);
    });

    it('keeps arguments, return value and this', () => {
      const bound = bindDetached(function (this: { k: number }, x: number) {
        return this.k + x;
      });
      assert.equal(bound.call({ k: 2 }, 3), 5);
    });

    it('throws a TypeError for a non-function', () => {
      assert.throws(() => bindDetached(42 as unknown as () => void), /`fn` to be a function/);
    });
  });

  describe('bindEmitter()', () => {
    it('runs each listener in the context it was added in, not the emitter’s', () => {
      const bus = bindEmitter(new EventEmitter());
      const seen: [string, string | undefined][] = [];
      const a = inSpan('a', (span) => {
        bus.on('tick', () => seen.push(['a', tryGetTraceContext()?.traceId]));
        return span.spanContext().traceId;
      });
      const b = inSpan('b', (span) => {
        bus.once('tick', () => seen.push(['b', tryGetTraceContext()?.traceId]));
        return span.spanContext().traceId;
      });
      inSpan('c', () => bus.emit('tick'));
      bus.emit('tick');
      assert.deepEqual(seen, [['a', a], ['b', b], ['a', a]]);
    });

    it('without it, listeners run in the context of whoever emits (the trap it fixes)', () => {
      const bus = new EventEmitter();
      let seen: string | undefined;
      inSpan('a', () => bus.on('tick', () => (seen = tryGetTraceContext()?.traceId)));
      const c = inSpan('c', (span) => {
        bus.emit('tick');
        return span.spanContext().traceId;
      });
      assert.equal(seen, c);
    });

    it('removes listeners by their original function, for on and once', () => {
      const bus = bindEmitter(new EventEmitter());
      let calls = 0;
      const listener = () => calls++;
      inSpan('a', () => {
        bus.on('x', listener);
        bus.once('y', listener);
        bus.prependOnceListener('z', listener);
      });
      assert.equal(bus.listenerCount('x') + bus.listenerCount('y') + bus.listenerCount('z'), 3);
      bus.removeListener('x', listener);
      bus.off('y', listener);
      bus.emit('x');
      bus.emit('y');
      assert.equal(calls, 0);
      bus.emit('z');
      bus.emit('z');
      assert.equal(calls, 1, 'once stays once');
      assert.equal(bus.listenerCount('z'), 0);
    });

    it('is idempotent and returns the emitter; rejects non-emitters', () => {
      const bus = new EventEmitter();
      assert.equal(bindEmitter(bindEmitter(bus)), bus);
      let seen: string | undefined;
      const a = inSpan('a', (span) => {
        bus.on('x', () => (seen = tryGetTraceContext()?.traceId));
        return span.spanContext().traceId;
      });
      inSpan('b', () => bus.emit('x'));
      assert.equal(seen, a, 'bound once, not twice');
      assert.throws(() => bindEmitter({} as EventEmitter), /`emitter` to be an EventEmitter/);
    });
  });

  describe('injectContext() and runWithContext()', () => {
    it('injects the active context into a carrier and returns it', () => {
      const bag = propagation.createBaggage({ k: { value: 'v' } });
      const { carrier, ids } = inSpan('request', (span, ctx) =>
        context.with(propagation.setBaggage(ctx, bag), () => ({ carrier: injectContext({ job: 'x' }), ids: span.spanContext() })),
      );
      assert.deepEqual(carrier, { job: 'x', traceparent: `00-${ids.traceId}-${ids.spanId}-01`, baggage: 'k=v' });
      assert.deepEqual(injectContext(), {}, 'nothing to inject outside a trace');
    });

    it('starts a PRODUCER span on request, per the messaging conventions', () => {
      const { carrier, parent } = inSpan('request', (span) => ({
        carrier: injectContext({}, { span: true, system: 'rabbitmq', destination: 'emails', attributes: { 'app.kind': 'welcome' } }),
        parent: span.spanContext(),
      }));
      const [producer] = tracing.spansNamed('create emails');
      assert.ok(producer);
      assert.equal(producer.kind, SpanKind.PRODUCER);
      assert.equal(producer.parentSpanContext?.spanId, parent.spanId);
      assert.deepEqual(producer.attributes, {
        'app.kind': 'welcome',
        'messaging.operation.name': 'create',
        'messaging.operation.type': 'create',
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': 'emails',
      });
      assert.equal(carrier.traceparent, `00-${parent.traceId}-${producer.spanContext().spanId}-01`);
    });

    it('continues the carrier trace inside a CONSUMER span', () => {
      const seen = runWithContext({ traceparent: TRACEPARENT }, () => tryGetTraceContext(), { system: 'rabbitmq', destination: 'emails' });
      const [consumer] = tracing.spansNamed('process emails');
      assert.ok(consumer);
      assert.equal(consumer.kind, SpanKind.CONSUMER);
      assert.equal(consumer.spanContext().traceId, TRACE_ID);
      assert.equal(consumer.parentSpanContext?.spanId, PARENT_ID);
      assert.equal(consumer.parentSpanContext?.isRemote, true);
      assert.equal(consumer.attributes['messaging.operation.type'], 'process');
      assert.equal(consumer.attributes['messaging.system'], 'rabbitmq');
      assert.equal(seen?.spanId, consumer.spanContext().spanId);
      assert.ok(activeIsRoot());
    });

    it('ends the CONSUMER span when an async fn settles; records and rethrows its error', async () => {
      assert.equal(await runWithContext({ traceparent: TRACEPARENT }, async () => { await turn(); return 7; }), 7);
      assert.equal(tracing.spansNamed('process').length, 1);
      const failure = new TypeError('bad payload');
      await assert.rejects(runWithContext({ traceparent: TRACEPARENT }, () => Promise.reject(failure), { destination: 'q' }), (e) => e === failure);
      assert.throws(() => runWithContext({ traceparent: TRACEPARENT }, () => { throw failure; }, { destination: 'r' }), (e) => e === failure);
      for (const name of ['process q', 'process r']) {
        const [span] = tracing.spansNamed(name);
        assert.equal(span?.status.code, SpanStatusCode.ERROR);
        assert.equal(span?.attributes['error.type'], 'TypeError');
        assert.equal(span?.events[0]?.name, 'exception');
      }
    });

    it('with span: false only restores the context', () => {
      const seen = runWithContext({ traceparent: TRACEPARENT }, () => tryGetTraceContext(), { span: false });
      assert.equal(seen?.traceId, TRACE_ID);
      assert.equal(seen?.spanId, PARENT_ID);
      assert.equal(tracing.spans().length, 0);
    });

    for (const [label, carrier] of [
      ['undefined', undefined],
      ['null', null],
      ['a string', TRACEPARENT],
      ['a garbage traceparent', { traceparent: 'garbage' }],
      ['a zero trace id', { traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` }],
      ['a non-string traceparent', { traceparent: 42 }],
    ] as const) {
      it(`starts a new trace from a malformed carrier (${label}), never throws`, () => {
        const seen = runWithContext(carrier, () => tryGetTraceContext(), { destination: 'q' });
        const [consumer] = tracing.spansNamed('process q');
        assert.ok(consumer);
        assert.equal(consumer.parentSpanContext, undefined);
        assert.notEqual(consumer.spanContext().traceId, TRACE_ID);
        assert.equal(seen?.traceId, consumer.spanContext().traceId);
      });
    }

    it('starts a new trace when the registered propagator throws on extract, and logs it', () => {
      const seen = captureDiag();
      propagation.setGlobalPropagator({
        inject: () => {},
        extract: () => { throw new Error('broken propagator'); },
        fields: () => ['traceparent'],
      });
      const seenTrace = runWithContext({ traceparent: TRACEPARENT }, () => tryGetTraceContext(), { destination: 'q' });
      const [consumer] = tracing.spansNamed('process q');
      // Checked first: with no span and no context both sides below would be undefined, and equal.
      assert.ok(consumer, 'the consumer span was exported');
      assert.ok(seenTrace, 'the consumer ran in a context');
      assert.equal(consumer.parentSpanContext, undefined);
      assert.equal(seenTrace.traceId, consumer.spanContext().traceId);
      assert.match(seen.warnings[0] ?? '', /could not extract a context from a carrier/);
    });

    it('records a non-Error thrown by fn and rethrows it unchanged', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the non-Error case is the point
      assert.throws(() => runWithContext({ traceparent: TRACEPARENT }, () => { throw 'plain string'; }), (e) => e === 'plain string');
      const [span] = tracing.spansNamed('process');
      assert.equal(span?.events[0]?.attributes?.['exception.message'], 'plain string');
      assert.equal(span?.attributes['error.type'], 'Error');
    });

    it('validates options with TypeErrors naming the option', () => {
      assert.throws(() => injectContext({}, { span: 'yes' as unknown as boolean }), /`span` to be a boolean/);
      assert.throws(() => injectContext({}, { destination: '' }), /`destination` to be a non-empty string/);
      assert.throws(() => injectContext(null as unknown as Record<string, unknown>), /`carrier` to be an object/);
      assert.throws(() => runWithContext({}, 'x' as unknown as () => void), /`fn` to be a function/);
      assert.throws(() => runWithContext({}, () => {}, { system: 1 as unknown as string }), /`system` to be a non-empty string/);
      assert.throws(() => runWithContext({}, () => {}, { queue: 'q' } as RunWithContextOptions), /Unknown option `queue` passed to runWithContext\(\)/);
    });
  });

  describe('worker threads via the carrier', () => {
    it('restores the context from workerData and from each message in a real Worker', async function () {
      this.timeout(20_000);
      const { initial, perMessage } = inSpan('request', () => ({ initial: injectContext(), perMessage: tryGetTraceContext()!.traceId }));
      const worker = tsWorker(new URL('../fixtures/carrier-worker.ts', import.meta.url), { workerData: { carrier: initial } });
      try {
        const [ready] = (await once(worker, 'message')) as [{ type: string; traceId: string }];
        assert.deepEqual(ready, { type: 'ready', traceId: traceIdOf(initial) });
        const other = inSpan('other', () => injectContext());
        worker.postMessage({ id: 1, carrier: other });
        worker.postMessage({ id: 2, carrier: { traceparent: 'garbage' } });
        const [first] = (await once(worker, 'message')) as [{ id: number; traceId: string }];
        const [second] = (await once(worker, 'message')) as [{ id: number; traceId: string }];
        assert.deepEqual(first, { type: 'result', id: 1, traceId: traceIdOf(other) });
        // The worker registers no tracer provider, so a malformed carrier gives no
        // trace at all there: above all, not the previous message's trace.
        assert.deepEqual(second, { type: 'result', id: 2, traceId: undefined });
        assert.notEqual(first.traceId, perMessage);
      } finally {
        await worker.terminate();
      }
    });
  });

  describe('childEnv() and contextFromEnv()', () => {
    const fixture = fileURLToPath(new URL('../fixtures/env-child.ts', import.meta.url));
    const runChild = async (env: Record<string, string>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: withoutCoverage(env), stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const [code] = (await once(child, 'close')) as [number];
      assert.equal(code, 0);
      return JSON.parse(out) as { traceId: string | null; spanId: string | null; baggage: Record<string, string> };
    };

    it('puts the active context in upper-case TRACEPARENT/TRACESTATE/BAGGAGE', () => {
      const parent = { traceparent: TRACEPARENT, tracestate: 'vendor=x', baggage: 'tenant=acme' };
      const env = runWithContext(parent, () => childEnv({ PATH: '/bin', UNSET: undefined }), { span: false });
      assert.deepEqual({ ...env }, { PATH: '/bin', TRACEPARENT, TRACESTATE: 'vendor=x', BAGGAGE: 'tenant=acme' }); // childEnv() has a null prototype
    });

    it('drops inherited trace variables outside a trace', () => {
      assert.deepEqual({ ...childEnv({ TRACEPARENT, BAGGAGE: 'a=1', HOME: '/h' }) }, { HOME: '/h' });
    });

    it('restores the context from the environment; malformed values give no trace', () => {
      const ctx = contextFromEnv({ TRACEPARENT, BAGGAGE: 'a=1' });
      assert.equal(trace.getSpanContext(ctx)?.traceId, TRACE_ID);
      assert.equal(propagation.getBaggage(ctx)?.getEntry('a')?.value, '1');
      assert.equal(trace.getSpanContext(contextFromEnv({ TRACEPARENT: 'nope' })), undefined);
      assert.equal(trace.getSpanContext(contextFromEnv({ traceparent: TRACEPARENT })), undefined, 'names are upper-case');
    });

    it('a real node child process continues the trace', async function () {
      this.timeout(20_000);
      const { env, ids } = inSpan('spawn', (span, ctx) =>
        context.with(propagation.setBaggage(ctx, propagation.createBaggage({ job: { value: 'export' } })), () => ({
          env: childEnv(),
          ids: span.spanContext(),
        })),
      );
      assert.deepEqual(await runChild(env), { traceId: ids.traceId, spanId: ids.spanId, baggage: { job: 'export' } });
      const outside = await runChild(childEnv({ ...process.env, TRACEPARENT }));
      assert.deepEqual(outside, { traceId: null, spanId: null, baggage: {} });
    });
  });
});

describe('docs/context-pitfalls.md', () => {
  it('documents the defaults the code uses', () => {
    const doc = readFileSync(new URL('../../docs/context-pitfalls.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(`| \`delayMs\` | \`number\` | \`${RUN_DETACHED_DEFAULTS.delayMs}\` (next macrotask) |`));
    assert.ok(doc.includes(`| \`link\` | \`boolean\` | \`${RUN_DETACHED_DEFAULTS.link}\` |`));
  });

  const dir = new URL('../../examples/pitfalls/', import.meta.url);
  for (const file of [
    'incoming-trace.ts',
    'async-hops.ts',
    'body-parser.ts',
    'shared-pool.ts',
    'shared-emitter.ts',
    'fire-and-forget.ts',
    'message-queue.ts',
    'worker-thread.ts',
    'child-process.ts',
  ]) {
    it(`examples/pitfalls/${file} runs and shows the fix working`, async function () {
      this.timeout(20_000);
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, dir))], { env: withoutCoverage(process.env), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const [code] = (await once(child, 'close')) as [number];
      assert.equal(code, 0, `${file} exited with ${code}:\n${out}`);
      assert.ok(out.length > 0);
    });
  }
});
