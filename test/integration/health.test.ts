import assert from 'node:assert/strict';
import { request as httpRequest, type Server } from 'node:http';
import express5 from 'express';
import request from 'supertest';
import { gracefulShutdown, healthRoutes, traceContext } from '../../src/index.js';
import { phaseChannel } from '../../src/internal/channels.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { installMetrics, installTracing } from '../helpers/otel.js';
import { listen } from '../helpers/server.js';
import { deferred, phaseReached } from '../helpers/events.js';

/** A raw request over a real socket, to see exactly which body bytes arrive. */
function rawRequest(url: string, method: string): Promise<{ status: number; headers: Record<string, unknown>; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const PROBES = ['/health/live', '/health/ready', '/health/startup'] as const;

for (const variant of EXPRESS_VARIANTS) {
  describe(`healthRoutes() on ${variant.name}`, () => {
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await Promise.all(closers.splice(0).map((close) => close()));
    });

    /** A real Express app with healthRoutes() first and a fall-through route, listening on 127.0.0.1. */
    async function serve(options?: Parameters<typeof healthRoutes>[0], before?: (app: ReturnType<typeof variant.express>) => void) {
      const app = variant.express();
      before?.(app);
      app.use(healthRoutes(options));
      app.use((req, res) => {
        res.status(404).json({ fellThrough: `${req.method} ${req.path}` });
      });
      const listening = await listen(app);
      closers.push(() => listening.close());
      return listening;
    }

    it('answers /health/live, /health/ready and /health/startup with 200 and {status: "ok", checks}', async () => {
      const { url } = await serve({ checks: { db: () => 'up', cache: () => Promise.resolve(true) } });
      for (const path of PROBES) {
        const res = await request(url).get(path);
        assert.equal(res.status, 200, path);
        assert.match(res.headers['content-type']!, /^application\/json/);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.body.status, 'ok');
        assert.equal(typeof res.body.checks, 'object');
      }
      const ready = await request(url).get('/health/ready?probe=1');
      assert.deepEqual(Object.keys(ready.body.checks).sort(), ['cache', 'db']);
      for (const name of ['db', 'cache']) {
        assert.equal(ready.body.checks[name].status, 'pass');
        assert.equal(typeof ready.body.checks[name].durationMs, 'number');
        assert.ok(ready.body.checks[name].durationMs >= 0);
      }
      // /live and /startup never run checks.
      assert.deepEqual((await request(url).get('/health/live')).body, { status: 'ok', checks: {} });
      assert.deepEqual((await request(url).get('/health/startup')).body, { status: 'ok', checks: {} });
    });

    it('/ready is 503 {status: "failing"} when a check throws, rejects or exceeds timeoutMs; errors hidden unless verbose', async () => {
      const checks = {
        ok: () => undefined,
        throws: () => {
          throw new Error('db down');
        },
        rejects: () => Promise.reject(new Error('cache refused')),
        slow: (signal: AbortSignal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('aborted'))),
      };
      const quiet = await serve({ checks, timeoutMs: 50 });
      const res = await request(quiet.url).get('/health/ready');
      assert.equal(res.status, 503);
      assert.equal(res.body.status, 'failing');
      assert.equal(res.body.checks.ok.status, 'pass');
      assert.equal(res.body.checks.throws.status, 'fail');
      assert.equal(res.body.checks.rejects.status, 'fail');
      assert.equal(res.body.checks.slow.status, 'timeout');
      // The timeout counts from the probe: generous lower bound only.
      assert.ok(res.body.checks.slow.durationMs >= 40, `slow took ${res.body.checks.slow.durationMs} ms`);
      for (const name of Object.keys(checks)) {
        assert.deepEqual(Object.keys(res.body.checks[name]).sort(), ['durationMs', 'status'], name);
      }
      assert.doesNotMatch(res.text, /db down|cache refused|timed out/);
      // Liveness is unaffected by failing dependencies.
      assert.equal((await request(quiet.url).get('/health/live')).status, 200);

      const verbose = await serve({ checks, timeoutMs: 50, verbose: true });
      const loud = await request(verbose.url).get('/health/ready');
      assert.equal(loud.status, 503);
      assert.equal(loud.body.checks.throws.error, 'db down');
      assert.equal(loud.body.checks.rejects.error, 'cache refused');
      assert.equal(loud.body.checks.slow.error, 'timed out after 50 ms');
      assert.equal(loud.body.checks.ok.error, undefined);
    });

    it('runs checks concurrently: both have started before either finishes', async () => {
      const events: string[] = [];
      const aStarted = deferred();
      const bStarted = deferred();
      const check = (self: string, mine: { resolve(): void }, other: Promise<void>) => async () => {
        events.push(`${self}:start`);
        mine.resolve();
        // Sequential checks would deadlock here and time out.
        await other;
        events.push(`${self}:end`);
      };
      const { url } = await serve({
        checks: { a: check('a', aStarted, bStarted.promise), b: check('b', bStarted, aStarted.promise) },
        timeoutMs: 10_000,
      });
      const res = await request(url).get('/health/ready');
      assert.equal(res.status, 200);
      assert.equal(res.body.checks.a.status, 'pass');
      assert.equal(res.body.checks.b.status, 'pass');
      assert.deepEqual(events.slice(0, 2).sort(), ['a:start', 'b:start']);
      assert.deepEqual(events.slice(2).sort(), ['a:end', 'b:end']);
    });

    it('is single-flight: 5 concurrent /ready probes while a check hangs start it exactly once', async () => {
      let calls = 0;
      const release = deferred();
      const { url } = await serve({
        checks: {
          hang: async () => {
            calls++;
            await release.promise;
          },
        },
        timeoutMs: 100,
      });
      const probes = await Promise.all(Array.from({ length: 5 }, () => request(url).get('/health/ready')));
      for (const res of probes) {
        assert.equal(res.status, 503);
        assert.equal(res.body.status, 'failing');
        assert.equal(res.body.checks.hang.status, 'timeout');
      }
      // Even past its timeout the hanging run is still the one in flight.
      assert.equal((await request(url).get('/health/ready')).status, 503);
      assert.equal(calls, 1);
      release.resolve();
      // Once it settles, the next probe starts a fresh run, which passes.
      let res = await request(url).get('/health/ready');
      while (calls < 2) res = await request(url).get('/health/ready'); // the settle may land just after a probe
      assert.equal(res.status, 200);
      assert.equal(calls, 2);
    });

    it('started: () => false makes /startup and /ready 503 {status: "starting"} while /live stays 200', async () => {
      let started = false;
      let checkCalls = 0;
      const { url } = await serve({ started: () => started, checks: { db: () => void checkCalls++ } });
      const startup = await request(url).get('/health/startup');
      assert.equal(startup.status, 503);
      assert.deepEqual(startup.body, { status: 'starting', checks: {} });
      const ready = await request(url).get('/health/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: 'starting', checks: {} });
      assert.equal(checkCalls, 0, 'checks do not run before the service has started');
      const live = await request(url).get('/health/live');
      assert.equal(live.status, 200);
      assert.deepEqual(live.body, { status: 'ok', checks: {} });
      started = true;
      assert.equal((await request(url).get('/health/startup')).status, 200);
      assert.equal((await request(url).get('/health/ready')).status, 200);
      assert.equal(checkCalls, 1);
    });

    it('a started() that throws counts as not started, and the app keeps serving', async () => {
      const { url } = await serve({
        started: () => {
          throw new Error('boom');
        },
      });
      assert.deepEqual((await request(url).get('/health/startup')).body, { status: 'starting', checks: {} });
      assert.equal((await request(url).get('/health/ready')).status, 503);
      assert.equal((await request(url).get('/health/live')).status, 200);
    });

    it('serves the probes under `prefix` and lets the default paths fall through', async () => {
      const { url } = await serve({ prefix: '/k8s' });
      for (const probe of ['/k8s/live', '/k8s/ready', '/k8s/startup']) {
        const res = await request(url).get(probe);
        assert.equal(res.status, 200, probe);
        assert.equal(res.body.status, 'ok');
      }
      const fell = await request(url).get('/health/live');
      assert.equal(fell.status, 404);
      assert.deepEqual(fell.body, { fellThrough: 'GET /health/live' });

      const bare = await serve({ prefix: '' });
      assert.equal((await request(bare.url).get('/live')).status, 200);
      assert.equal((await request(bare.url).get('/ready')).status, 200);
      assert.equal((await request(bare.url).get('/health/ready')).status, 404);
    });

    it('HEAD requests get the status and headers but no body', async () => {
      const { url } = await serve({ started: () => false });
      const live = await rawRequest(`${url}/health/live`, 'HEAD');
      assert.equal(live.status, 200);
      assert.equal(live.bytes, 0);
      assert.equal(Number(live.headers['content-length']), Buffer.byteLength(JSON.stringify({ status: 'ok', checks: {} })));
      const ready = await rawRequest(`${url}/health/ready`, 'HEAD');
      assert.equal(ready.status, 503);
      assert.equal(ready.bytes, 0);
      const get = await rawRequest(`${url}/health/live`, 'GET');
      assert.ok(get.bytes > 0);
    });

    it('other paths and methods fall through to next()', async () => {
      const { url } = await serve();
      for (const method of ['post', 'put', 'delete', 'patch'] as const) {
        const res = await request(url)[method]('/health/ready');
        assert.equal(res.status, 404, method);
        assert.deepEqual(res.body, { fellThrough: `${method.toUpperCase()} /health/ready` });
      }
      const options = await rawRequest(`${url}/health/live`, 'OPTIONS');
      assert.equal(options.status, 404);
      for (const path of ['/health', '/health/', '/health/live/', '/health/lives', '/healthz', '/x/health/live']) {
        const res = await request(url).get(path);
        assert.equal(res.status, 404, path);
        assert.equal(res.body.fellThrough, `GET ${path}`);
      }
    });

    it('readiness turns 503 {status: "draining"} the moment a gracefulShutdown() in the process drains, with no wiring', async () => {
      const app = variant.express();
      app.use(healthRoutes());
      app.get('/work', (_req, res) => res.json({ ok: true }));
      const { server, url } = await listen(app);
      const shutdown = gracefulShutdown(server, {
        signals: [],
        drainDelayMs: 300,
        closeTimeoutMs: 2_000,
        jobsTimeoutMs: 500,
        hookTimeoutMs: 500,
        flushTimeoutMs: 1_000,
      });
      assert.equal((await request(url).get('/health/ready')).status, 200);
      const draining = phaseReached(shutdown, 'draining');
      const done = shutdown.terminate('test');
      await draining;
      assert.equal(shutdown.phase(), 'draining');
      const ready = await request(url).get('/health/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: 'draining', checks: {} });
      // Still serving, and still alive: Kubernetes must not restart a pod shutting down on purpose.
      const live = await request(url).get('/health/live');
      assert.equal(live.status, 200);
      assert.deepEqual(live.body, { status: 'draining', checks: {} });
      assert.equal((await request(url).get('/work')).status, 200);
      assert.equal(shutdown.phase(), 'draining', 'the probes ran inside the 300 ms drain');
      const report = await done;
      assert.equal(report.reason, 'test');
      assert.ok(report.servedWhileDraining >= 3, `servedWhileDraining ${report.servedWhileDraining}`);
      assert.equal(report.exitCode, 0);
    });

    it('with the `shutdown` option follows only that handle', async () => {
      const servers: Server[] = [];
      const mk = async () => {
        const app = variant.express();
        app.get('/work', (_req, res) => res.json({ ok: true }));
        const listening = await listen(app);
        servers.push(listening.server);
        return gracefulShutdown(listening.server, { signals: [], drainDelayMs: 0, closeTimeoutMs: 2_000, jobsTimeoutMs: 500 });
      };
      const mine = await mk();
      const other = await mk();
      const { url } = await serve({ shutdown: mine });
      await other.terminate('other');
      assert.equal(other.phase(), 'stopped');
      const ready = await request(url).get('/health/ready');
      assert.equal(ready.status, 200, 'another server shutting down does not flip this readiness');
      assert.equal(ready.body.status, 'ok');
      await mine.terminate('mine');
      const after = await request(url).get('/health/ready');
      assert.equal(after.status, 503);
      assert.deepEqual(after.body, { status: 'draining', checks: {} });
    });

    for (const prefix of ['/health', '/k8s']) {
      it(`probes under ${prefix} produce no span and no HTTP metric when traceContext() is mounted before healthRoutes()`, async () => {
        const tracing = installTracing();
        const meters = installMetrics();
        try {
          const { url } = await serve({ prefix, checks: { db: () => true } }, (app) => {
            app.use(traceContext());
            app.get('/work', (_req, res) => res.json({ ok: true }));
          });
          for (const path of ['live', 'ready', 'startup'].map((p) => `${prefix}/${p}`)) assert.equal((await request(url).get(path)).status, 200, path);
          assert.equal(tracing.spans().length, 0, 'no span for probes');
          assert.equal((await request(url).get('/work')).status, 200);
          const spans = tracing.spans();
          assert.equal(spans.length, 1);
          assert.equal(spans[0]!.attributes['http.route'], '/work');
          const collected = await meters.collect();
          const durations = collected.scopeMetrics
            .flatMap((s) => s.metrics)
            .filter((m) => m.descriptor.name === 'http.server.request.duration');
          assert.equal(durations.length, 1);
          const points = durations[0]!.dataPoints;
          assert.equal(points.length, 1, 'one series: the /work route only');
          assert.equal(points[0]!.attributes['http.route'], '/work');
          assert.equal((points[0]!.value as { count: number }).count, 1);
        } finally {
          await tracing.shutdown();
          await meters.shutdown();
        }
      });
    }
  });
}

describe('healthRoutes() options', () => {
  it('invalid options throw a TypeError naming the option', () => {
    const cases: [unknown, RegExp][] = [
      [{ prefix: 'x' }, /`prefix`/],
      [{ prefix: '/a/' }, /`prefix`/],
      [{ timeoutMs: -1 }, /`timeoutMs`/],
      [{ checks: { a: 1 } }, /`checks\.a`/],
      [{ shutdown: {} }, /`shutdown`/],
      [{ verbose: 'yes' }, /`verbose`/],
      [{ started: true }, /`started`/],
    ];
    for (const [options, name] of cases) {
      assert.throws(() => healthRoutes(options as never), (error: unknown) => {
        assert.ok(error instanceof TypeError, JSON.stringify(options));
        assert.match(error.message, name);
        return true;
      });
    }
    assert.throws(() => healthRoutes({ prefx: '/x' } as never), TypeError);
  });
});

describe('healthRoutes() process-wide readiness', () => {
  it('unwired healthRoutes() subscribe to nothing; one created after a shutdown is not flipped by it, one created before stays flipped', async () => {
    for (let i = 0; i < 50; i++) healthRoutes();
    assert.equal(phaseChannel.hasSubscribers, false, 'no diagnostics-channel subscriber per call');

    const early = express5();
    early.use(healthRoutes());
    const a = await listen(early);
    const shutdown = gracefulShutdown(a.server, { signals: [], drainDelayMs: 0, closeTimeoutMs: 2_000, jobsTimeoutMs: 500 });
    const probeUrl = await listen(early); // the same app on a second server, which keeps running
    await shutdown.terminate('test');
    assert.equal((await request(probeUrl.url).get('/health/ready')).body.status, 'draining');
    const late = express5();
    late.use(healthRoutes());
    const b = await listen(late);
    assert.equal((await request(b.url).get('/health/ready')).status, 200);
    await Promise.all([probeUrl.close(), b.close()]);
  });
});
