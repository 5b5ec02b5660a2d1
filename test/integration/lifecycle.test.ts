import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import express from 'express';
import { diag, trace } from '@opentelemetry/api';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  GRACEFUL_SHUTDOWN_DEFAULTS,
  SHUTDOWN_PHASES,
  gracefulShutdown,
  healthRoutes,
  traceContext,
  type ShutdownPhase,
} from '../../src/index.js';
import { trackJob, runningJobCount } from '../../src/detached/registry.js';
import type { PhaseEvent } from '../../src/internal/channels.js';
import { ensureContextManager } from '../../src/context/context-manager.js';
import { captureDiag, installTracing } from '../helpers/otel.js';
import { SERVER_FLAVOURS, get } from '../helpers/servers.js';
import { deferred, phaseReached } from '../helpers/events.js';

/** Short timeouts for tests; each test overrides what it measures. */
const FAST = { signals: [], drainDelayMs: 0, closeTimeoutMs: 2_000, jobsTimeoutMs: 500, hookTimeoutMs: 500, flushTimeoutMs: 1_000 } as const;

for (const flavour of SERVER_FLAVOURS) {
  describe(`gracefulShutdown() over ${flavour.name}`, () => {
    it('under keep-alive load of 50 connections: 0 failed, in-flight requests finish, closing takes about the longest request', async () => {
      const app = express();
      app.get('/work', (req, res) => {
        setTimeout(() => res.json({ ok: true }), Number(req.query.ms));
      });
      const { server, url } = await flavour.listen(app);
      const shutdown = gracefulShutdown(server, { ...FAST, drainDelayMs: 300, closeTimeoutMs: 5_000 });
      // The load balancer stops sending once the server stops accepting.
      let closing = false;
      shutdown.onPhase((p) => {
        if (p === 'closing') closing = true;
      });
      const agent = flavour.agent(50);
      let sent = 0;
      let ok = 0;
      let failed = 0;
      const errors: string[] = [];
      let started = false;
      const warm = deferred();
      const clients = Array.from({ length: 50 }, async (_, c) => {
        for (let i = 0; !closing; i++) {
          const ms = (c * 37 + i * 101) % 301; // 0-300 ms, spread across connections
          sent++;
          const phaseAtSend = shutdown.phase();
          try {
            const reply = await get(`${url}/work?ms=${ms}`, agent);
            assert.equal(reply.status, 200);
            ok++;
          } catch (error) {
            failed++;
            errors.push(`${(error as NodeJS.ErrnoException).code ?? String(error)} (sent in phase ${phaseAtSend})`);
          }
          if (ok >= 150 && !started) {
            started = true;
            warm.resolve();
          }
        }
      });
      await warm.promise;
      const report = await shutdown.terminate('load test');
      await Promise.all(clients);
      agent.destroy();
      console.log(
        `      [${flavour.name}] sent=${sent} ok=${ok} failed=${failed} inFlightAtStart=${report.inFlightAtStart} servedWhileDraining=${report.servedWhileDraining} ` +
          `closing=${report.durationsMs.closing.toFixed(0)}ms total=${report.totalMs.toFixed(0)}ms`,
      );
      assert.deepEqual(errors, []);
      assert.equal(failed, 0);
      assert.equal(ok, sent);
      assert.ok(report.inFlightAtStart > 0, 'requests were in flight at terminate()');
      assert.ok(report.servedWhileDraining > 0, 'requests were served while draining');
      assert.equal(report.socketsDestroyed, 0);
      // Longest request is 300 ms; the keep-alive timeout (60 s) plays no part.
      assert.ok(report.durationsMs.closing < 1_500, `closing took ${report.durationsMs.closing} ms`);
      assert.deepEqual(report.timedOut, []);
      assert.equal(report.exitCode, 0);
      assert.equal(server.listening, false);
    });

    it('while draining, serves new requests with Connection: close and answers /health/ready 503', async () => {
      const app = express();
      // The handle exists only after listen(); the probe reads it late.
      const late: { handle?: ReturnType<typeof gracefulShutdown> } = {};
      app.use(healthRoutes({ shutdown: { phase: () => late.handle?.phase() ?? 'running' } }));
      app.get('/work', (_req, res) => res.send('done'));
      const { server, url } = await flavour.listen(app);
      const shutdown = gracefulShutdown(server, { ...FAST, drainDelayMs: 1_500 });
      late.handle = shutdown;
      const agent = flavour.agent(4);
      assert.equal((await get(`${url}/health/ready`, agent)).status, 200);
      const onDraining = phaseReached(shutdown, 'draining');
      const pending = shutdown.terminate();
      await onDraining;
      assert.equal(shutdown.phase(), 'draining');
      const ready = await get(`${url}/health/ready`, agent);
      assert.equal(ready.status, 503);
      assert.deepEqual(JSON.parse(ready.body), { status: 'draining', checks: {} });
      const work = await get(`${url}/work`, agent);
      assert.equal(work.status, 200);
      assert.equal(work.body, 'done');
      assert.equal(work.headers.connection, 'close');
      const live = await get(`${url}/health/live`, agent);
      assert.equal(live.status, 200, 'liveness stays 200 while draining');
      assert.equal(shutdown.phase(), 'draining');
      const report = await pending;
      agent.destroy();
      assert.equal(report.servedWhileDraining, 3);
      assert.ok(report.durationsMs.draining >= 1_490, `draining took ${report.durationsMs.draining} ms`);
    });

    it('closes 200 idle keep-alive sockets promptly', async () => {
      const all = deferred();
      let arrived = 0;
      const { server, url } = await flavour.listen((_req, res) => {
        // Answer once all 200 are in, so the agent holds 200 distinct sockets.
        if (++arrived === 200) all.resolve();
        void all.promise.then(() => res.end('ok'));
      });
      const shutdown = gracefulShutdown(server, FAST);
      const agent = flavour.agent(200);
      const sockets = new Set<Socket>();
      const replies = await Promise.all(
        Array.from({ length: 200 }, () =>
          new Promise<number>((resolve, reject) => {
            const mod = url.startsWith('https') ? import('node:https') : import('node:http');
            void mod.then((m) => {
              const req = m.get(url, { agent }, (res) => {
                sockets.add(res.socket);
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              });
              req.on('error', reject);
            });
          }),
        ),
      );
      assert.equal(replies.filter((s) => s === 200).length, 200);
      assert.equal(sockets.size, 200);
      const closed = Promise.all([...sockets].map((s) => (s.destroyed ? Promise.resolve() : once(s, 'close'))));
      const report = await shutdown.terminate();
      await closed;
      agent.destroy();
      console.log(`      [${flavour.name}] 200 idle sockets closed, closing=${report.durationsMs.closing.toFixed(0)}ms`);
      assert.ok(report.durationsMs.closing < 1_000, `closing took ${report.durationsMs.closing} ms`);
      assert.equal(report.socketsDestroyed, 0, 'idle sockets are not counted as cut requests');
      assert.equal(report.inFlightAtStart, 0);
    });

    it('cuts a request longer than closeTimeoutMs and reports it', async () => {
      const arrived = deferred();
      const { server, url } = await flavour.listen(() => arrived.resolve()); // never answers
      const shutdown = gracefulShutdown(server, { ...FAST, closeTimeoutMs: 200 });
      const agent = flavour.agent(1);
      const outcome = get(url, agent).then(
        () => 'answered',
        (error: NodeJS.ErrnoException) => error.code ?? error.message,
      );
      await arrived.promise;
      const report = await shutdown.terminate();
      agent.destroy();
      console.log(`      [${flavour.name}] over-long request cut after closing=${report.durationsMs.closing.toFixed(0)}ms`);
      assert.equal(await outcome, 'ECONNRESET');
      assert.equal(report.inFlightAtStart, 1);
      assert.equal(report.socketsDestroyed, 1);
      assert.deepEqual(report.timedOut, ['closing']);
      assert.equal(report.exitCode, 1);
      assert.ok(report.durationsMs.closing >= 190 && report.durationsMs.closing < 1_500, `closing took ${report.durationsMs.closing} ms`);
    });
  });
}

describe('gracefulShutdown()', () => {
  async function idleServer() {
    return SERVER_FLAVOURS[0]!.listen((_req, res) => res.end('ok'));
  }

  it('awaits detached jobs, aborts the one past jobsTimeoutMs and reports it abandoned', async () => {
    const { server } = await idleServer();
    const shutdown = gracefulShutdown(server, { ...FAST, jobsTimeoutMs: 200 });
    const quick = trackJob('quick', new AbortController());
    const stuckController = new AbortController();
    trackJob('stuck', stuckController);
    const aborted = once(stuckController.signal, 'abort');
    const jobsPhase = phaseReached(shutdown, 'jobs');
    const pending = shutdown.terminate();
    await jobsPhase;
    quick.settle(true);
    const report = await pending;
    await aborted;
    assert.equal(stuckController.signal.aborted, true);
    assert.match(String((stuckController.signal.reason as Error).message), /abandoned at shutdown after 200 ms/);
    assert.equal(report.jobsCompleted, 1);
    assert.deepEqual(report.jobsAbandoned.map((j) => j.name), ['stuck']);
    assert.deepEqual(report.timedOut, ['jobs']);
    assert.ok(report.durationsMs.jobs >= 190 && report.durationsMs.jobs < 1_500);
    assert.equal(runningJobCount(), 0);
  });

  it('flushes the spans of the last requests and jobs through a BatchSpanProcessor before it stops: 0 lost', async () => {
    ensureContextManager();
    const exported: ReadableSpan[] = [];
    let exporterShutDown = false;
    const exporter: SpanExporter = {
      export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
        // Asynchronous like a network exporter.
        setImmediate(() => {
          exported.push(...spans);
          done({ code: ExportResultCode.SUCCESS });
        });
      },
      shutdown: () => {
        exporterShutDown = true;
        return Promise.resolve();
      },
    };
    // A delay no test waits for: only the flush can export these spans.
    const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 600_000 })] });
    trace.disable();
    trace.setGlobalTracerProvider(provider);
    try {
      const app = express();
      app.use(traceContext());
      const inside = deferred();
      let arrived = 0;
      app.get('/slow', (_req, res) => {
        if (++arrived === 20) inside.resolve();
        setTimeout(() => res.send('ok'), 100);
      });
      const { server, url } = await SERVER_FLAVOURS[0]!.listen(app);
      const shutdown = gracefulShutdown(server, {
        ...FAST,
        telemetry: { forceFlush: () => provider.forceFlush(), shutdown: () => provider.shutdown() },
      });
      const agent = SERVER_FLAVOURS[0]!.agent(20);
      const requests = Array.from({ length: 20 }, () => get(`${url}/slow`, agent));
      await inside.promise;
      // A detached job that records a span and ends during the jobs phase.
      const job = trackJob('send-mail', new AbortController());
      const jobSpan = trace.getTracer('test').startSpan('send-mail');
      shutdown.onPhase((p) => {
        if (p === 'jobs') {
          setTimeout(() => {
            jobSpan.end();
            job.settle(true);
          }, 50);
        }
      });
      const seen = captureDiag();
      const report = await shutdown.terminate();
      diag.disable();
      const replies = await Promise.all(requests);
      agent.destroy();
      assert.deepEqual(seen.warnings, [], 'nothing touches the shutdown span after it ended');
      assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
      assert.equal(report.flush, 'ok');
      assert.equal(report.jobsCompleted, 1);
      assert.ok(exporterShutDown);
      const names = exported.map((s) => s.name);
      assert.equal(names.filter((n) => n === 'GET /slow').length, 20, 'all 20 request spans exported');
      assert.equal(names.filter((n) => n === 'send-mail').length, 1, 'the job span exported');
      const shutdownSpan = exported.find((s) => s.name === 'throughline.shutdown');
      assert.ok(shutdownSpan, 'the shutdown span exported');
      assert.deepEqual(shutdownSpan.events.map((e) => e.name), ['shutdown.draining', 'shutdown.closing', 'shutdown.jobs', 'shutdown.hooks', 'shutdown.flushing']);
      assert.equal(shutdownSpan.attributes['throughline.shutdown.in_flight_at_start'], 20);
    } finally {
      trace.disable();
    }
  });

  it('goes through every phase once, in order, on onPhase and the phase channel', async () => {
    const phases: ShutdownPhase[] = [];
    const events: PhaseEvent[] = [];
    const onEvent = (m: unknown) => events.push(m as PhaseEvent);
    subscribe('throughline:lifecycle:phase', onEvent);
    try {
      const { server } = await idleServer();
      const shutdown = gracefulShutdown(server, FAST);
      assert.equal(shutdown.phase(), 'running');
      shutdown.onPhase((p) => phases.push(p));
      const first = shutdown.terminate('first');
      const second = shutdown.terminate('second');
      assert.equal(first, second, 'terminate() returns the same promise');
      const report = await first;
      assert.equal(report.reason, 'first');
      assert.deepEqual(phases, SHUTDOWN_PHASES.slice(1));
      assert.deepEqual(events.map((e) => e.phase), SHUTDOWN_PHASES.slice(1));
      assert.deepEqual(events.map((e) => e.previous), SHUTDOWN_PHASES.slice(0, -1));
      assert.equal(shutdown.phase(), 'stopped');
      assert.equal(await shutdown.terminate(), report);
      assert.equal(report.flush, 'skipped');
    } finally {
      unsubscribe('throughline:lifecycle:phase', onEvent);
    }
  });

  it('runs every beforeExit hook in order; a failing or slow one does not stop the others', async () => {
    const tracing = installTracing();
    try {
      const { server } = await idleServer();
      const ran: string[] = [];
      const logged: { level: string; msg: string; obj: object }[] = [];
      const log = (level: string) => (obj: object, msg: string) => logged.push({ level, msg, obj });
      let slowSawAbort = false;
      const shutdown = gracefulShutdown(server, {
        ...FAST,
        hookTimeoutMs: 150,
        logger: { info: log('info'), warn: log('warn'), error: log('error') },
        beforeExit: [
          function closePool() {
            ran.push('closePool');
          },
          async function failing() {
            ran.push('failing');
            await Promise.resolve();
            throw new Error('queue refused to close');
          },
          function slow(signal: AbortSignal) {
            ran.push('slow');
            return new Promise<void>((resolve) =>
              signal.addEventListener('abort', () => {
                slowSawAbort = true;
                resolve();
              }),
            );
          },
          () => {
            ran.push('last');
          },
        ],
      });
      const report = await shutdown.terminate();
      assert.deepEqual(ran, ['closePool', 'failing', 'slow', 'last']);
      assert.deepEqual(report.hooksFailed, ['failing', 'slow']);
      assert.ok(slowSawAbort);
      assert.deepEqual(report.timedOut, ['hooks']);
      assert.equal(report.exitCode, 1);
      assert.ok(logged.some((l) => l.level === 'error' && l.msg.includes('failed') && (l.obj as { hook?: string }).hook === 'failing'));
      assert.ok(logged.some((l) => l.level === 'error' && l.msg.includes('timed out') && (l.obj as { hook?: string }).hook === 'slow'));
      assert.deepEqual(
        logged.filter((l) => l.msg.startsWith('throughline: shutdown phase')).map((l) => (l.obj as { phase: string }).phase),
        SHUTDOWN_PHASES.slice(1),
      );
      const [span] = tracing.spansNamed('throughline.shutdown');
      assert.ok(span);
      assert.equal(span.status.code, 2);
      assert.ok(span.events.some((e) => e.name === 'exception'));
    } finally {
      await tracing.shutdown();
    }
  });

  it('reports a flush that fails or times out', async () => {
    const { server: a } = await idleServer();
    const failed = await gracefulShutdown(a, {
      ...FAST,
      telemetry: { forceFlush: () => Promise.reject(new Error('collector down')), shutdown: () => Promise.resolve() },
    }).terminate();
    assert.equal(failed.flush, 'failed');
    assert.equal(failed.exitCode, 1);
    const { server: b } = await idleServer();
    const slow = await gracefulShutdown(b, {
      ...FAST,
      flushTimeoutMs: 100,
      telemetry: { forceFlush: () => new Promise(() => {}), shutdown: () => Promise.resolve() },
    }).terminate();
    assert.equal(slow.flush, 'timeout');
    assert.deepEqual(slow.timedOut, ['flushing']);
  });

  it('flushes telemetry that has only shutdown() (the shape of a NodeSDK): the provider shutdown exports what is buffered', async () => {
    const exported: string[] = [];
    const exporter: SpanExporter = {
      export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
        exported.push(...spans.map((span) => span.name));
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: () => Promise.resolve(),
    };
    const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 600_000 })] });
    provider.getTracer('test').startSpan('buffered').end();
    assert.deepEqual(exported, [], 'still in the batch');
    const { server } = await idleServer();
    const report = await gracefulShutdown(server, { ...FAST, telemetry: { shutdown: () => provider.shutdown() } }).terminate();
    assert.equal(report.flush, 'ok');
    assert.deepEqual(exported, ['buffered']);
  });

  it('uninstall() removes its signal listeners', async () => {
    const { server } = await idleServer();
    const before = process.listenerCount('SIGTERM');
    const shutdown = gracefulShutdown(server, { signals: ['SIGTERM', 'SIGINT'] });
    assert.equal(process.listenerCount('SIGTERM'), before + 1);
    shutdown.uninstall();
    assert.equal(process.listenerCount('SIGTERM'), before);
    await gracefulShutdown(server, FAST).terminate();
  });

  for (const flavour of SERVER_FLAVOURS) {
    it(`uninstall() leaves no listener it added on the ${flavour.name} server or the process`, async () => {
      const { server } = await flavour.listen(express());
      const events = ['connection', 'secureConnection', 'request', 'upgrade', 'close'] as const;
      const counts = () => [...events.map((e) => server.listenerCount(e)), process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
      const before = counts();
      const shutdown = gracefulShutdown(server);
      assert.notDeepEqual(counts(), before, 'it installed listeners');
      shutdown.uninstall();
      assert.deepEqual(counts(), before);
      await gracefulShutdown(server, FAST).terminate();
    });
  }

  it('one handle per server: a second gracefulShutdown() throws and installs nothing, until uninstall()', async () => {
    const { server } = await idleServer();
    const first = gracefulShutdown(server, FAST);
    const counts = () => [server.listenerCount('connection'), server.listenerCount('request')];
    const installed = counts();
    assert.throws(() => gracefulShutdown(server, FAST), /already manages this server.*uninstall\(\)/);
    assert.deepEqual(counts(), installed, 'the refused call left nothing behind');
    first.uninstall();
    const report = await gracefulShutdown(server, FAST).terminate();
    assert.equal(report.exitCode, 0);
  });

  it('validates its options with TypeErrors that name the option', async () => {
    const { server } = await idleServer();
    assert.throws(() => gracefulShutdown(server, { drainDelayMs: -1 }), /Expected `drainDelayMs` to be a finite number >= 0, got `-1`/);
    assert.throws(() => gracefulShutdown(server, { closeTimeoutMs: Number.NaN }), /`closeTimeoutMs`/);
    assert.throws(() => gracefulShutdown(server, { signals: ['TERM' as NodeJS.Signals] }), /`signals`/);
    assert.throws(() => gracefulShutdown(server, { telemetry: {} as never }), /`telemetry`/);
    assert.throws(() => gracefulShutdown(server, { telemetry: { shutdown: () => Promise.resolve(), forceFlush: 1 } as never }), /`telemetry`/);
    assert.throws(() => gracefulShutdown(server, { logger: { info() {} } as never }), /`logger`/);
    assert.throws(() => gracefulShutdown(server, { beforeExit: ['x' as never] }), /`beforeExit\[0\]`/);
    assert.throws(() => gracefulShutdown(server, { drainDelay: 5 } as never), /Unknown option `drainDelay`/);
    assert.throws(() => gracefulShutdown({} as never), /`server`/);
    await gracefulShutdown(server, FAST).terminate();
  });

  it('documents its defaults: 28 s in total, under the Kubernetes default grace period', () => {
    const d = GRACEFUL_SHUTDOWN_DEFAULTS;
    assert.equal(d.drainDelayMs + d.closeTimeoutMs + d.jobsTimeoutMs + d.hookTimeoutMs + d.flushTimeoutMs, 28_000);
    assert.deepEqual(d.signals, ['SIGTERM', 'SIGINT']);
  });
});
