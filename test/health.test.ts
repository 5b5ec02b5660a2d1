// healthRoutes() on real Express apps (both majors) and real sockets.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { gracefulShutdown, healthRoutes, traceContext, type HealthBody, type HealthCheck } from '../src/index.js';
import { EXPRESS_VARIANTS } from './helpers/express.js';
import { installMetrics, installTracing, type TestMetrics, type TestTracing } from './helpers/otel.js';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

for (const { name, express } of EXPRESS_VARIANTS) {
  describe(`healthRoutes() on ${name}`, () => {
    function appWith(options?: Parameters<typeof healthRoutes>[0]) {
      const app = express();
      app.use(healthRoutes(options));
      app.get('/work', (_req, res) => void res.send('work'));
      return app;
    }

    it('answers live, ready and startup with 200 and a JSON body', async () => {
      const app = appWith({ checks: { db: () => Promise.resolve() } });
      const live = await request(app).get('/health/live').expect(200).expect('content-type', /application\/json/);
      assert.deepEqual(live.body, { status: 'ok', checks: {} });
      assert.equal(live.headers['cache-control'], 'no-store');
      const ready = await request(app).get('/health/ready').expect(200);
      const body = ready.body as HealthBody;
      assert.equal(body.status, 'ok');
      assert.equal(body.checks['db']?.status, 'pass');
      assert.equal(typeof body.checks['db']?.durationMs, 'number');
      assert.deepEqual((await request(app).get('/health/startup').expect(200)).body, { status: 'ok', checks: {} });
    });

    it('answers 503 when a check throws, rejects or times out, with the error only when verbose', async () => {
      const checks: Record<string, HealthCheck> = {
        ok: () => undefined,
        throws: () => {
          throw new Error('db down');
        },
        rejects: () => Promise.reject(new Error('cache down')),
        slow: (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined))),
      };
      const quiet = await request(appWith({ checks, timeoutMs: 100 })).get('/health/ready').expect(503);
      assert.deepEqual(
        Object.fromEntries(Object.entries((quiet.body as HealthBody).checks).map(([k, v]) => [k, Object.keys(v).sort().join(',')])),
        { ok: 'durationMs,status', throws: 'durationMs,status', rejects: 'durationMs,status', slow: 'durationMs,status' },
        'no error details without verbose',
      );
      assert.equal((quiet.body as HealthBody).status, 'failing');

      const verbose = await request(appWith({ checks, timeoutMs: 100, verbose: true })).get('/health/ready').expect(503);
      const c = (verbose.body as HealthBody).checks;
      assert.deepEqual(
        { ok: c['ok']?.status, throws: c['throws']?.status, rejects: c['rejects']?.status, slow: c['slow']?.status },
        { ok: 'pass', throws: 'fail', rejects: 'fail', slow: 'timeout' },
      );
      assert.equal(c['throws']?.error, 'db down');
      assert.equal(c['rejects']?.error, 'cache down');
      assert.equal(c['slow']?.error, 'timed out after 100 ms');
      assert.equal(c['ok']?.error, undefined);
    });

    it('runs the checks concurrently', async () => {
      const aStarted = deferred();
      const bStarted = deferred();
      // Each check finishes only once the other has started: run one after the other, they would deadlock (and time out).
      const checks: Record<string, HealthCheck> = {
        a: async () => {
          aStarted.resolve();
          await bStarted.promise;
        },
        b: async () => {
          bStarted.resolve();
          await aStarted.promise;
        },
      };
      const res = await request(appWith({ checks, timeoutMs: 5_000 })).get('/health/ready').expect(200);
      assert.equal((res.body as HealthBody).status, 'ok');
    });

    it('does not pile up runs of a hanging check: five concurrent probes start it once', async () => {
      let calls = 0;
      const release = deferred();
      const app = appWith({
        timeoutMs: 100,
        checks: {
          db: () => {
            calls++;
            return release.promise;
          },
        },
      });
      const probes = await Promise.all(Array.from({ length: 5 }, () => request(app).get('/health/ready')));
      assert.deepEqual(
        probes.map((p) => p.status),
        [503, 503, 503, 503, 503],
      );
      // Still hanging: a later probe joins the same run instead of starting another.
      await request(app).get('/health/ready').expect(503);
      assert.equal(calls, 1);
      release.resolve();
      // One event-loop turn lets the settled run leave the runner's single-flight slot.
      await new Promise((resolve) => setImmediate(resolve));
      // Settled: the next probe starts a fresh run, which passes.
      await request(app).get('/health/ready').expect(200);
      assert.equal(calls, 2);
    });

    it('answers 503 "starting" on startup and ready until started() is true; live stays 200', async () => {
      let started = false;
      const app = appWith({ started: () => started });
      assert.deepEqual((await request(app).get('/health/startup').expect(503)).body, { status: 'starting', checks: {} });
      assert.deepEqual((await request(app).get('/health/ready').expect(503)).body, { status: 'starting', checks: {} });
      await request(app).get('/health/live').expect(200);
      started = true;
      await request(app).get('/health/startup').expect(200);
      await request(app).get('/health/ready').expect(200);
    });

    it('serves under another prefix, answers HEAD without a body, and passes other requests on', async () => {
      const app = appWith({ prefix: '/_' });
      await request(app).get('/_/ready').expect(200);
      await request(app).get('/health/ready').expect(404);
      const head = await request(app).head('/_/live').expect(200);
      assert.equal(head.text, undefined);
      assert.ok(Number(head.headers['content-length']) > 0, 'HEAD announces the GET body length');
      await request(app).post('/_/live').expect(404);
      await request(app).get('/work').expect(200, 'work');
      await request(app).get('/_/live?verbose=1').expect(200);
    });

    it('turns ready 503 "draining" the moment any gracefulShutdown() in the process drains, and live stays 200', async () => {
      const app = appWith();
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const shutdown = gracefulShutdown(server, { signals: [], drainDelayMs: 400, closeTimeoutMs: 1_000 });
      assert.equal((await fetch(`${url}/health/ready`)).status, 200);
      const draining = deferred();
      shutdown.onPhase((phase) => phase === 'draining' && draining.resolve());
      const done = shutdown.terminate();
      await draining.promise;
      const ready = await fetch(`${url}/health/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: 'draining', checks: {} });
      const live = await fetch(`${url}/health/live`);
      assert.equal(live.status, 200);
      assert.deepEqual(await live.json(), { status: 'draining', checks: {} });
      assert.equal((await fetch(`${url}/work`)).status, 200, 'still serving while draining');
      const report = await done;
      assert.equal(report.exitCode, 0);
    });

    it('with the shutdown option follows only that handle', async () => {
      let phase: 'running' | 'draining' = 'running';
      const app = appWith({ shutdown: { phase: () => phase } });
      await request(app).get('/health/ready').expect(200);
      phase = 'draining';
      await request(app).get('/health/ready').expect(503);
    });

    it('validates its options with TypeErrors that name the option', () => {
      assert.throws(() => healthRoutes({ prefix: 'x' }), { name: 'TypeError', message: /`prefix`/ });
      assert.throws(() => healthRoutes({ prefix: '/a/' }), { name: 'TypeError', message: /`prefix`/ });
      assert.throws(() => healthRoutes({ timeoutMs: -1 }), { name: 'TypeError', message: /`timeoutMs`/ });
      assert.throws(() => healthRoutes({ checks: { a: 1 as unknown as HealthCheck } }), { name: 'TypeError', message: /`checks\.a`/ });
      assert.throws(() => healthRoutes({ shutdown: {} as never }), { name: 'TypeError', message: /`shutdown`/ });
      assert.throws(() => healthRoutes({ verbose: 'yes' as unknown as boolean }), { name: 'TypeError', message: /`verbose`/ });
      assert.throws(() => healthRoutes({ probe: true } as never), { name: 'TypeError', message: /probe/ });
    });
  });
}

describe('healthRoutes() behind traceContext()', () => {
  let tracing: TestTracing;
  let meters: TestMetrics;
  beforeEach(() => {
    tracing = installTracing();
    meters = installMetrics();
  });
  afterEach(async () => {
    await tracing.shutdown();
    await meters.shutdown();
  });

  it('records no span and no HTTP metric for probes, while a normal route gets both', async () => {
    const app = EXPRESS_VARIANTS[0].express();
    app.use(traceContext());
    app.use(healthRoutes());
    app.get('/work', (_req, res) => void res.send('work'));
    for (const path of ['/health/live', '/health/ready', '/health/startup']) await request(app).get(path).expect(200);
    await request(app).get('/work').expect(200);

    assert.deepEqual(
      tracing.spans().map((s) => s.name),
      ['GET /work'],
    );
    const [resource] = [await meters.collect()];
    const duration = resource.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'http.server.request.duration');
    assert.ok(duration, 'the duration histogram exists');
    assert.deepEqual(
      duration.dataPoints.map((p) => p.attributes['http.route']),
      ['/work'],
    );
  });
});
