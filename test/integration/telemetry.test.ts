import { context, createContextKey, diag, metrics, propagation, ROOT_CONTEXT, trace, type ProxyTracerProvider } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlreadyInitializedError,
  gracefulShutdown,
  HTTP_DURATION_BUCKETS_SECONDS,
  LIFECYCLE_METRICS,
  MetricsServerListenError,
  PHASE_DURATION_BUCKETS_SECONDS,
  SETUP_TELEMETRY_DEFAULTS,
  setupTelemetry,
  traceContext,
  type Telemetry,
} from '../../src/index.js';
import { drainDetached, trackJob } from '../../src/detached/registry.js';
import type { PhaseEvent } from '../../src/internal/channels.js';
import { processState } from '../../src/internal/state.js';
import { fakeShutdown } from '../helpers/state.js';
import { deferred, phaseReached } from '../helpers/events.js';
import { captureDiag } from '../helpers/otel.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { parseExposition, scrapeHandler, select, value, type Sample } from '../helpers/exposition.js';
import { listen } from '../helpers/server.js';
import { get as getVia, SERVER_FLAVOURS } from '../helpers/servers.js';
import { withoutCoverage } from '../helpers/subprocess.js';

const DURATION = 'http_server_request_duration_seconds';
/** Runtime metrics that are exposed from the first scrape when runtimeMetrics is on. */
const RUNTIME_METRICS = ['nodejs_eventloop_utilization_ratio', 'v8js_memory_heap_used_bytes', 'nodejs_eventloop_time_seconds_total'];

/** Starts from a process with nothing registered, as an application does. */
/** An Express 5 app with traceContext(), /metrics on the app route and an empty GET /x. */
function tracedAppWithMetrics(telemetry: Telemetry) {
  const app = EXPRESS_VARIANTS[0].express();
  app.use(traceContext());
  app.get('/metrics', telemetry.metricsHandler);
  app.get('/x', (_req, res) => void res.end());
  return app;
}

function clearGlobals(): void {
  metrics.disable();
  trace.disable();
  propagation.disable();
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

describe('setupTelemetry()', () => {
  let telemetry: Telemetry | undefined;
  beforeEach(clearGlobals);
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });

  it('registers nothing at import time', async () => {
    const code =
      "import { metrics, propagation, trace } from '@opentelemetry/api'; await import('./src/index.ts');" +
      "console.log(JSON.stringify({ fields: propagation.fields(), meter: metrics.getMeterProvider().constructor.name, tracer: trace.getTracerProvider().getDelegate().constructor.name }));";
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: withoutCoverage(process.env),
    });
    assert.deepEqual(JSON.parse(stdout), { fields: [], meter: 'NoopMeterProvider', tracer: 'NoopTracerProvider' });
  });

  it('registers the context manager, W3C propagators and the meter provider, with the resource', async () => {
    telemetry = setupTelemetry({ serviceName: 'orders', serviceVersion: '1.2.3', serviceInstanceId: 'pod-7', runtimeMetrics: false });
    // The contract gracefulShutdown(server, { telemetry }) relies on, checked by the compiler.
    const flushable: { forceFlush(): Promise<void>; shutdown(): Promise<void> } = telemetry;
    assert.equal(typeof flushable.forceFlush, 'function');
    assert.equal(metrics.getMeterProvider(), telemetry.meterProvider);
    assert.deepEqual(propagation.fields(), ['traceparent', 'tracestate', 'baggage']);
    const key = createContextKey('probe');
    assert.equal(context.with(ROOT_CONTEXT.setValue(key, 1), () => context.active().getValue(key)), 1);
    assert.equal(telemetry.tracerProvider, undefined);
    assert.deepEqual(telemetry.resource.attributes, {
      'service.name': 'orders',
      'service.version': '1.2.3',
      'service.instance.id': 'pod-7',
    });
    const samples = await scrapeHandler(telemetry.metricsHandler);
    assert.deepEqual(select(samples, 'target_info')[0]?.labels, {
      service_name: 'orders',
      service_version: '1.2.3',
      service_instance_id: 'pod-7',
    });
  });

  it('defaults service.instance.id to a UUID per process and runtime metrics on', async () => {
    assert.deepEqual(SETUP_TELEMETRY_DEFAULTS, { runtimeMetrics: true, incomingSampling: 'respect' });
    telemetry = setupTelemetry({ serviceName: 'orders' });
    assert.match(String(telemetry.resource.attributes['service.instance.id']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const samples = await scrapeHandler(telemetry.metricsHandler);
    const names = new Set(samples.map((s) => s.name));
    for (const name of RUNTIME_METRICS) {
      assert.ok(names.has(name), `runtime metric ${name} is exposed`);
    }
  });

  it('refuses a second call with AlreadyInitializedError that says what to do, and allows one after shutdown()', async () => {
    telemetry = setupTelemetry({ serviceName: 'a', runtimeMetrics: false });
    assert.throws(
      () => setupTelemetry({ serviceName: 'b' }),
      (error: unknown) =>
        error instanceof AlreadyInitializedError && /already called/.test(error.message) && /shutdown\(\)/.test(error.message),
    );
    const first = telemetry.shutdown();
    assert.equal(telemetry.shutdown(), first, 'shutdown() is idempotent');
    await first;
    assert.deepEqual(propagation.fields(), []);
    assert.notEqual(metrics.getMeterProvider(), telemetry.meterProvider);
    telemetry = setupTelemetry({ serviceName: 'b', runtimeMetrics: false });
    assert.equal(metrics.getMeterProvider(), telemetry.meterProvider);
  });

  it('refuses to split metrics with a meter provider registered by someone else', () => {
    const other = { getMeter: () => metrics.getMeter('x') };
    metrics.setGlobalMeterProvider(other);
    assert.throws(() => setupTelemetry({ serviceName: 'a', runtimeMetrics: false }), AlreadyInitializedError);
    assert.equal(metrics.getMeterProvider(), other, "the other SDK's provider stays");
    assert.deepEqual(propagation.fields(), [], 'nothing half-registered');
    metrics.disable();
    // A tracer provider registered elsewhere: the meter provider this call registered is undone too.
    const otherTracer = { getTracer: () => trace.getTracer('x') };
    trace.setGlobalTracerProvider(otherTracer);
    assert.throws(
      () => setupTelemetry({ serviceName: 'a', runtimeMetrics: false, traceExporter: new InMemorySpanExporter() }),
      AlreadyInitializedError,
    );
    assert.equal(metrics.getMeterProvider().constructor.name, 'NoopMeterProvider');
    trace.disable();
    telemetry = setupTelemetry({ serviceName: 'a', runtimeMetrics: false });
  });

  it('makes a NodeSDK started after it loud: a THROUGHLINE_SECOND_SDK warning and a stderr line per refused global', async () => {
    telemetry = setupTelemetry({ serviceName: 'a', runtimeMetrics: false, traceExporter: new InMemorySpanExporter() });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.on('warning', onWarning);
    process.stderr.write = (chunk: string) => (lines.push(chunk), true);
    let sdk: NodeSDK;
    try {
      sdk = new NodeSDK({ spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })], metricReaders: [] });
      sdk.start();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.stderr.write = write;
      process.off('warning', onWarning);
    }
    assert.equal((trace.getTracerProvider() as ProxyTracerProvider).getDelegate(), telemetry.tracerProvider, 'the first registration stays');
    // Node prints the process warning to stderr too, as text.
    const refused = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string; registration: string });
    assert.deepEqual(
      refused.map((l) => [l.level, /Attempted duplicate registration of API: (\w+)/.exec(l.registration)?.[1]]),
      [['error', 'context'], ['error', 'propagation'], ['error', 'trace']],
    );
    assert.match(refused[0]!.msg, /NodeSDK started after setupTelemetry\(\)\?.*start the NodeSDK first and do not call setupTelemetry\(\)/);
    const codes = warnings.map((w) => (w as Error & { code?: string }).code);
    assert.deepEqual(codes, ['THROUGHLINE_SECOND_SDK']);
    await sdk.shutdown();
    await telemetry.shutdown();
    telemetry = undefined;
    // The stderr logger goes with shutdown(): the API's diag logger slot is empty again.
    assert.equal((globalThis as Record<symbol, { diag?: unknown }>)[Symbol.for('opentelemetry.js.api.1')]?.diag, undefined);
  });

  it("leaves an application's own diag logger in place", () => {
    const seen: string[] = [];
    diag.setLogger({ error: (m) => seen.push(m), warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, { suppressOverrideMessage: true });
    try {
      telemetry = setupTelemetry({ serviceName: 'a', runtimeMetrics: false });
      metrics.setGlobalMeterProvider(telemetry.meterProvider);
      assert.equal(seen.length, 1);
      assert.match(seen[0]!, /duplicate registration of API: metrics/);
    } finally {
      diag.disable();
    }
  });

  const invalid: [string, unknown, RegExp][] = [
    ['no options', undefined, /`options`/],
    ['serviceName missing', {}, /`serviceName`/],
    ['serviceName empty', { serviceName: '' }, /`serviceName` to be a non-empty string, got `""`/],
    ['serviceVersion', { serviceName: 'a', serviceVersion: 1 }, /`serviceVersion`/],
    ['prometheus', { serviceName: 'a', prometheus: 9464 }, /`prometheus` to be an options object/],
    ['prometheus.port', { serviceName: 'a', prometheus: { port: -1 } }, /`prometheus.port`/],
    ['prometheus.port range', { serviceName: 'a', prometheus: { port: 70000 } }, /`prometheus.port` to be an integer port/],
    ['prometheus.host', { serviceName: 'a', prometheus: { port: 0, host: 5 } }, /`prometheus.host`/],
    ['traceExporter', { serviceName: 'a', traceExporter: 'jaeger' }, /`traceExporter`/],
    ['runtimeMetrics', { serviceName: 'a', runtimeMetrics: 'yes' }, /`runtimeMetrics` to be a boolean/],
    ['unknown key', { serviceName: 'a', servicename: 'b' }, /Unknown option `servicename`/],
  ];
  for (const [what, options, message] of invalid) {
    it(`throws a TypeError naming the option: ${what}`, () => {
      assert.throws(() => setupTelemetry(options as never), (e: unknown) => e instanceof TypeError && message.test(e.message));
      assert.equal(metrics.getMeterProvider().constructor.name, 'NoopMeterProvider', 'nothing registered');
    });
  }

  it('exports the spans of a request through the given exporter with the resource', async () => {
    const exporter = new InMemorySpanExporter();
    telemetry = setupTelemetry({ serviceName: 'traced', traceExporter: exporter, runtimeMetrics: false });
    assert.equal(trace.getTracerProvider().getTracer('x').constructor.name, 'Tracer');
    const app = EXPRESS_VARIANTS[0].express();
    app.use(traceContext());
    app.get('/ping', (_req, res) => void res.send('pong'));
    const s = await listen(app);
    try {
      const res = await fetch(`${s.url}/ping`, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
      assert.equal(await res.text(), 'pong');
    } finally {
      await s.close();
    }
    assert.equal(exporter.getFinishedSpans().length, 0, 'batched, not yet exported');
    await telemetry.forceFlush();
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.name, 'GET /ping');
    assert.equal(span.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(span.resource.attributes['service.name'], 'traced');
  });

  it("creates an OTLP/HTTP exporter for traceExporter: 'otlp'", async () => {
    telemetry = setupTelemetry({ serviceName: 'otlp', traceExporter: 'otlp', runtimeMetrics: false });
    assert.ok(telemetry.tracerProvider);
    const global = () => (trace.getTracerProvider() as ProxyTracerProvider).getDelegate();
    assert.equal(global(), telemetry.tracerProvider);
    await telemetry.shutdown();
    assert.equal(global().constructor.name, 'NoopTracerProvider');
  });

  it('serves /metrics on its own port with prometheus: { port, host }, closed by shutdown()', async () => {
    telemetry = setupTelemetry({ serviceName: 'own-port', prometheus: { port: 0, host: '127.0.0.1' }, runtimeMetrics: false });
    const server = telemetry.metricsServer!;
    if (!server.listening) await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const samples = await scrape(url);
    assert.equal(value(samples, 'throughline_shutdown_phase_ratio', { throughline_shutdown_phase: 'running' }), 1);
    assert.equal((await fetch(`${url}/other`)).status, 404);
    await telemetry.shutdown();
    assert.equal(server.listening, false);
  });

  it('a taken metrics port rejects metricsServerReady with an error naming the port, and logs it', async () => {
    const busy = await listen((_q, r) => r.end());
    const port = Number(new URL(busy.url).port);
    const seen = captureDiag();
    try {
      telemetry = setupTelemetry({ serviceName: 'busy', prometheus: { port, host: '127.0.0.1' }, runtimeMetrics: false });
      const error = await telemetry.metricsServerReady!.then(
        () => assert.fail('metricsServerReady resolved on a taken port'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof MetricsServerListenError);
      assert.equal(error.code, 'EADDRINUSE');
      assert.equal(error.port, port);
      assert.equal(error.message, `throughline: the Prometheus metrics server could not listen on 127.0.0.1:${port}: EADDRINUSE (the port is taken by another process)`);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
      assert.deepEqual(seen.errors, [error.message]);
      assert.equal(telemetry.metricsServer!.listening, false);
      await telemetry.shutdown();
    } finally {
      diag.disable();
      await busy.close();
    }
  });

  it('metricsServerReady resolves once the metrics server listens', async () => {
    telemetry = setupTelemetry({ serviceName: 'ready', prometheus: { port: 0, host: '127.0.0.1' }, runtimeMetrics: false });
    await telemetry.metricsServerReady;
    assert.equal(telemetry.metricsServer!.listening, true);
    await telemetry.shutdown();
  });

  it('exposes no runtime metric with runtimeMetrics: false, and still the HTTP metrics of a request', async () => {
    telemetry = setupTelemetry({ serviceName: 'no-runtime', runtimeMetrics: false });
    const app = tracedAppWithMetrics(telemetry);
    const s = await listen(app);
    try {
      assert.equal((await fetch(`${s.url}/x`)).status, 200);
      const samples = await scrape(s.url);
      const names = new Set(samples.map((x) => x.name));
      for (const name of RUNTIME_METRICS) assert.ok(!names.has(name), `runtime metric ${name} is not exposed`);
      assert.deepEqual(
        [...names].filter((name) => /^(nodejs|v8js)_/.test(name)),
        [],
        'no runtime metric at all',
      );
      assert.equal(value(samples, `${DURATION}_count`, { http_route: '/x', http_response_status_code: '200' }), 1);
    } finally {
      await s.close();
    }
  });
});

for (const { name, express } of EXPRESS_VARIANTS) {
  describe(`HTTP server metrics on ${name}`, () => {
    let telemetry: Telemetry;
    let app: ReturnType<typeof express>;
    let srv: Awaited<ReturnType<typeof listen>>;
    beforeEach(async () => {
      clearGlobals();
      telemetry = setupTelemetry({ serviceName: 'http', runtimeMetrics: false });
      app = express();
      app.set('env', 'test'); // the 500 route: no stack trace on stderr from Express's final handler
      app.use(traceContext());
      app.get('/metrics', telemetry.metricsHandler);
      app.get('/users/:id', (_req, res) => void res.json({ ok: true }));
      app.post('/users', (_req, res) => void res.status(201).end());
      app.get('/slow', (_req, res) => void setTimeout(() => res.send('slow'), 300));
      app.get('/fail', () => {
        throw new Error('boom');
      });
      srv = await listen(app);
    });
    afterEach(async () => {
      await srv.close();
      await telemetry.shutdown();
    });

    it('counts requests per route, method and status with the semantic-convention attributes', async () => {
      const sequence: [string, string, number][] = [
        ['GET', '/users/1', 200],
        ['GET', '/users/2', 200],
        ['GET', '/users/3', 200],
        ['POST', '/users', 201],
        ['POST', '/users', 201],
        ['GET', '/fail', 500],
        ['GET', '/nowhere/1', 404],
        ['GET', '/nowhere/2', 404],
        ['GET', '/slow', 200],
      ];
      for (const [method, path, status] of sequence) {
        assert.equal((await fetch(`${srv.url}${path}`, { method })).status, status, `${method} ${path}`);
      }
      const samples = await scrape(srv.url);
      const count = (labels: Record<string, string>) => value(samples, `${DURATION}_count`, labels);
      const base = { url_scheme: 'http' };
      assert.equal(count({ ...base, http_request_method: 'GET', http_route: '/users/:id', http_response_status_code: '200' }), 3);
      assert.equal(count({ ...base, http_request_method: 'POST', http_route: '/users', http_response_status_code: '201' }), 2);
      assert.equal(count({ ...base, http_request_method: 'GET', http_route: '/fail', http_response_status_code: '500', error_type: '500' }), 1);
      assert.equal(count({ ...base, http_request_method: 'GET', http_route: '/slow', http_response_status_code: '200' }), 1);
      // Unmatched: no http.route at all (never the raw path).
      const unmatched = select(samples, `${DURATION}_count`, { http_response_status_code: '404' });
      assert.equal(unmatched.length, 1);
      assert.equal(unmatched[0]!.value, 2);
      assert.equal(unmatched[0]!.labels.http_route, undefined);
      // 4xx is not an error on the server side; only 5xx carries error.type.
      assert.equal(select(samples, `${DURATION}_count`).filter((s) => s.labels.error_type !== undefined).length, 1);
      // /metrics itself is ignored by default, and nothing is in flight now.
      assert.equal(select(samples, `${DURATION}_count`, { http_route: '/metrics' }).length, 0);
      assert.equal(value(samples, 'http_server_active_requests', { http_request_method: 'GET', url_scheme: 'http' }), 0);
    });

    it('fills the semantic-convention buckets: a 300 ms request lands above 0.25 s', async () => {
      for (let i = 0; i < 2; i++) assert.equal((await fetch(`${srv.url}/slow`)).status, 200);
      const samples = await scrape(srv.url);
      const buckets = select(samples, `${DURATION}_bucket`, { http_route: '/slow' });
      assert.deepEqual(
        buckets.map((b) => b.labels.le),
        [...HTTP_DURATION_BUCKETS_SECONDS.map(String), '+Inf'],
      );
      for (const b of buckets) {
        const le = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
        // >= 0.3 s by construction; < 10 s on any machine that runs this suite.
        if (le <= 0.25) assert.equal(b.value, 0, `le=${b.labels.le}`);
        if (le >= 10) assert.equal(b.value, 2, `le=${b.labels.le}`);
      }
      const sum = value(samples, `${DURATION}_sum`, { http_route: '/slow' });
      assert.ok(sum >= 0.6 && sum < 20, `sum ${sum}`);
    });

    it('reports unknown methods as _OTHER and requests in flight', async () => {
      const released = deferred();
      const inHandler = deferred();
      app.get('/hold', (_req, res) => {
        inHandler.resolve();
        void released.promise.then(() => res.send('done'));
      });
      // Routes added after listen still count: Express looks them up per request.
      const held = fetch(`${srv.url}/hold`);
      await inHandler.promise;
      const during = await scrape(srv.url);
      assert.equal(value(during, 'http_server_active_requests', { http_request_method: 'GET' }), 1);
      released.resolve();
      assert.equal((await held).status, 200);
      const { port } = srv.server.address() as AddressInfo;
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'PURGE', path: '/users/1' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 404);
      const after = await scrape(srv.url);
      assert.equal(value(after, `${DURATION}_count`, { http_request_method: '_OTHER' }), 1);
      assert.equal(value(after, 'http_server_active_requests', { http_request_method: 'GET' }), 0);
    });

    it('adds no series per path: 10,000 requests to random unmatched paths', async function () {
      this.timeout(60_000);
      const before = (await scrape(srv.url)).length;
      const agent = new Agent({ keepAlive: true, maxSockets: 32 });
      const { port } = srv.server.address() as AddressInfo;
      const get = (path: string) =>
        new Promise<number>((resolve, reject) => {
          httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
            .on('error', reject)
            .end();
        });
      let next = 0;
      const worker = async () => {
        while (next < 10_000) {
          next++;
          assert.equal(await get(`/random/${Math.random().toString(36).slice(2)}/${next}`), 404);
        }
      };
      try {
        await Promise.all(Array.from({ length: 32 }, worker));
      } finally {
        agent.destroy();
      }
      const text = await (await fetch(`${srv.url}/metrics`)).text();
      assert.ok(!text.includes('/random/'), 'no raw path in the exposition');
      const samples = parseExposition(text);
      assert.equal(value(samples, `${DURATION}_count`, { http_response_status_code: '404' }), 10_000);
      // For all 10,000 paths: one histogram series (count, sum, 14 buckets + Inf)
      // and one http.server.active_requests series (GET, http).
      assert.equal(samples.length - before, 2 + HTTP_DURATION_BUCKETS_SECONDS.length + 1 + 1);
    });

    it('records a request the client aborted once, with error.type "aborted", the route and no status code', async () => {
      const inHandler = deferred();
      const serverClosed = deferred();
      app.get('/hang/:id', (_req, res) => {
        // traceContext() listens for 'close' before the route does, so it has
        // recorded when this runs; setImmediate lets what it scheduled settle.
        res.once('close', () => setImmediate(serverClosed.resolve));
        inHandler.resolve();
      });
      const { port } = srv.server.address() as AddressInfo;
      const req = httpRequest({ host: '127.0.0.1', port, path: '/hang/1' });
      req.on('error', () => {}); // the client's own "socket hang up"
      req.end();
      await inHandler.promise;
      req.destroy();
      await serverClosed.promise;
      const samples = await scrape(srv.url);
      const counts = select(samples, `${DURATION}_count`);
      assert.equal(counts.length, 1, JSON.stringify(counts));
      assert.equal(counts[0]!.value, 1);
      // Every label but the exporter's instrumentation scope, so a status code would show.
      const labels = Object.fromEntries(Object.entries(counts[0]!.labels).filter(([k]) => !k.startsWith('otel_scope_')));
      assert.deepEqual(labels, { http_request_method: 'GET', url_scheme: 'http', http_route: '/hang/:id', error_type: 'aborted' });
      assert.equal(value(samples, 'http_server_active_requests', { http_request_method: 'GET', url_scheme: 'http' }), 0);
    });

    for (const flavour of SERVER_FLAVOURS) {
      it(`labels a request served over ${flavour.name} url_scheme="${flavour.name}", in flight and recorded`, async () => {
        const released = deferred();
        const inHandler = deferred();
        const serverClosed = deferred();
        app.get('/held/:id', (_req, res) => {
          res.once('close', () => setImmediate(serverClosed.resolve));
          inHandler.resolve();
          void released.promise.then(() => res.send('done'));
        });
        const served = await flavour.listen(app);
        const agent = flavour.agent(1);
        try {
          const reply = getVia(`${served.url}/held/1`, agent);
          await inHandler.promise;
          // Scraped over plain http on srv: /metrics is ignored, so it adds nothing.
          const during = await scrape(srv.url);
          assert.equal(value(during, 'http_server_active_requests', { http_request_method: 'GET', url_scheme: flavour.name }), 1);
          released.resolve();
          assert.equal((await reply).status, 200);
          await serverClosed.promise;
          const after = await scrape(srv.url);
          assert.equal(value(after, 'http_server_active_requests', { http_request_method: 'GET', url_scheme: flavour.name }), 0);
          const counts = select(after, `${DURATION}_count`);
          assert.equal(counts.length, 1, JSON.stringify(counts));
          const recorded = { url_scheme: flavour.name, http_route: '/held/:id', http_response_status_code: '200' };
          assert.equal(value(after, `${DURATION}_count`, recorded), 1);
        } finally {
          agent.destroy();
          served.server.closeAllConnections();
          await new Promise<void>((resolve) => served.server.close(() => resolve()));
        }
      });
    }
  });
}

describe('docs/metrics.md', () => {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  afterEach(() => metrics.disable());

  it('states the defaults and buckets the code uses', () => {
    assert.ok(doc.includes(`| \`runtimeMetrics\` | \`boolean\` | \`${String(SETUP_TELEMETRY_DEFAULTS.runtimeMetrics)}\` |`));
    assert.ok(doc.includes(`\`${HTTP_DURATION_BUCKETS_SECONDS.join(', ')}\` seconds`));
    assert.ok(doc.includes(`\`${PHASE_DURATION_BUCKETS_SECONDS.join(', ')}\` seconds`));
  });

  it('documents every metric name the exporter writes', async () => {
    clearGlobals();
    const telemetry = setupTelemetry({ serviceName: 'docs' });
    try {
      const app = tracedAppWithMetrics(telemetry);
      const s = await listen(app);
      try {
        await fetch(`${s.url}/x`);
        const fake = fakeShutdown();
        fake.enter('draining', 1);
        fake.enter('closing', 1);
        fake.remove();
        trackJob('doc', new AbortController()).settle(true);
        const names = new Set((await scrape(s.url)).map((x) => x.name.replace(/_(bucket|sum|count)$/, '')));
        assert.ok(names.size >= 15, `${names.size} names`);
        for (const name of names) assert.ok(doc.includes(`\`${name}`), `${name} is documented`);
      } finally {
        await s.close();
      }
    } finally {
      await telemetry.shutdown();
    }
  });
});

describe('lifecycle metrics', () => {
  let telemetry: Telemetry;
  beforeEach(() => {
    clearGlobals();
    telemetry = setupTelemetry({ serviceName: 'lifecycle', runtimeMetrics: false });
  });
  afterEach(() => telemetry.shutdown());

  it('exposes every lifecycle instrument under its Prometheus name', async () => {
    const names = new Set((await scrapeHandler(telemetry.metricsHandler)).map((s) => s.name));
    const prometheusNames = {
      phase: 'throughline_shutdown_phase_ratio',
      phaseDuration: 'throughline_shutdown_phase_duration_seconds_count',
      connections: 'throughline_server_connections',
      jobsRunning: 'throughline_detached_jobs_running',
      jobsSettled: 'throughline_detached_jobs_settled_total',
    };
    assert.deepEqual(Object.keys(prometheusNames), Object.keys(LIFECYCLE_METRICS));
    const fake = fakeShutdown();
    fake.enter('draining', 1);
    fake.enter('closing', 1);
    fake.remove();
    trackJob('x', new AbortController()).settle(true);
    const after = new Set((await scrapeHandler(telemetry.metricsHandler)).map((s) => s.name));
    for (const name of Object.values(prometheusNames)) assert.ok(after.has(name), name);
    assert.ok(names.has('throughline_shutdown_phase_ratio'));
  });

  it('installs its instruments only while set up', async () => {
    const state = processState();
    assert.deepEqual([...state.lifecycleMeters.keys()], [telemetry.meterProvider]);
    assert.equal(state.shutdowns.phaseListeners.size, 1);
    await telemetry.shutdown();
    assert.equal(state.lifecycleMeters.size, 0);
    assert.equal(state.shutdowns.phaseListeners.size, 0);
  });

  it('counts detached jobs running, completed, failed and abandoned through the real registry', async () => {
    const a = trackJob('a', new AbortController());
    const b = trackJob('b', new AbortController());
    const stuck = new AbortController();
    trackJob('c', stuck);
    let samples = await scrapeHandler(telemetry.metricsHandler);
    assert.equal(value(samples, 'throughline_detached_jobs_running'), 3);
    const before = processState().jobs.totals();
    for (const outcome of ['completed', 'failed', 'abandoned'] as const) {
      assert.equal(value(samples, 'throughline_detached_jobs_settled_total', { throughline_job_outcome: outcome }), before[outcome], outcome);
    }
    const settled = { ...before };
    a.settle(true);
    b.settle(false);
    const report = await drainDetached({ timeoutMs: 100 });
    assert.equal(report.abandoned.length, 1);
    assert.ok(stuck.signal.aborted);
    samples = await scrapeHandler(telemetry.metricsHandler);
    assert.equal(value(samples, 'throughline_detached_jobs_running'), 0);
    for (const outcome of ['completed', 'failed', 'abandoned'] as const) {
      assert.equal(value(samples, 'throughline_detached_jobs_settled_total', { throughline_job_outcome: outcome }), settled[outcome] + 1, outcome);
    }
  });

  it('shows the current shutdown phase and the duration of each phase', async () => {
    const phases = await scrapeHandler(telemetry.metricsHandler);
    assert.deepEqual(
      select(phases, 'throughline_shutdown_phase_ratio').map((s) => [s.labels.throughline_shutdown_phase, s.value]),
      [['running', 1], ['draining', 0], ['closing', 0], ['jobs', 0], ['hooks', 0], ['flushing', 0], ['stopped', 0]],
    );
    const events: PhaseEvent[] = [
      { phase: 'draining', previous: 'running', previousDurationMs: 60_000 },
      { phase: 'closing', previous: 'draining', previousDurationMs: 3 },
      { phase: 'jobs', previous: 'closing', previousDurationMs: 1_200 },
    ];
    const fake = fakeShutdown();
    for (const e of events) fake.enter(e.phase, e.previousDurationMs);
    const samples = await scrapeHandler(telemetry.metricsHandler);
    assert.equal(value(samples, 'throughline_shutdown_phase_ratio', { throughline_shutdown_phase: 'jobs' }), 1);
    assert.equal(select(samples, 'throughline_shutdown_phase_ratio').reduce((n, s) => n + s.value, 0), 1);
    const d = 'throughline_shutdown_phase_duration_seconds';
    assert.equal(select(samples, `${d}_count`, { throughline_shutdown_phase: 'running' }).length, 0, 'uptime is not a phase');
    assert.equal(value(samples, `${d}_sum`, { throughline_shutdown_phase: 'draining' }), 0.003);
    assert.equal(value(samples, `${d}_bucket`, { throughline_shutdown_phase: 'draining', le: '0.005' }), 1);
    assert.equal(value(samples, `${d}_bucket`, { throughline_shutdown_phase: 'closing', le: '1' }), 0);
    assert.equal(value(samples, `${d}_bucket`, { throughline_shutdown_phase: 'closing', le: '2.5' }), 1);
    assert.deepEqual(
      select(samples, `${d}_bucket`, { throughline_shutdown_phase: 'closing' }).map((s) => s.labels.le),
      [...PHASE_DURATION_BUCKETS_SECONDS.map(String), '+Inf'],
    );
    fake.remove();
  });

  it('answers /metrics on the app route through a real draining phase; once closing stops accepting, only the prometheus port can', async () => {
    const app = EXPRESS_VARIANTS[0].express();
    app.use(traceContext());
    app.get('/metrics', telemetry.metricsHandler);
    const s = await listen(app);
    const shutdown = gracefulShutdown(s.server, { signals: [], drainDelayMs: 2_000, closeTimeoutMs: 2_000, jobsTimeoutMs: 500 });
    const draining = phaseReached(shutdown, 'draining');
    const done = shutdown.terminate('test');
    await draining;
    const samples = await scrape(s.url);
    assert.equal(value(samples, 'throughline_shutdown_phase_ratio', { throughline_shutdown_phase: 'draining' }), 1);
    assert.equal(shutdown.phase(), 'draining', 'the scrape ran inside the 2 s drain');
    const report = await done;
    assert.equal(report.exitCode, 0);
    // The server stopped accepting in closing: what docs/metrics.md tells users to expect.
    await assert.rejects(fetch(`${s.url}/metrics`), (error: Error & { cause?: { code?: string } }) => error.cause?.code === 'ECONNREFUSED');
  });

  it('keeps the prometheus port answering through closing, jobs and hooks until shutdown()', async () => {
    await telemetry.shutdown();
    telemetry = setupTelemetry({ serviceName: 'own-port', prometheus: { port: 0, host: '127.0.0.1' }, runtimeMetrics: false });
    const server = telemetry.metricsServer!;
    if (!server.listening) await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const order = ['running', 'draining', 'closing', 'jobs', 'hooks', 'flushing'] as const;
    const fake = fakeShutdown();
    for (let i = 1; i < order.length; i++) {
      fake.enter(order[i]!, 10 * i);
      const samples = await scrape(url);
      assert.equal(value(samples, 'throughline_shutdown_phase_ratio', { throughline_shutdown_phase: order[i]! }), 1);
    }
    const samples = await scrape(url);
    assert.equal(value(samples, 'throughline_shutdown_phase_duration_seconds_sum', { throughline_shutdown_phase: 'hooks' }), 0.05);
    fake.remove();
    await telemetry.shutdown();
    assert.equal(server.listening, false);
  });

  for (const order of ['gracefulShutdown() first', 'setupTelemetry() first'] as const) {
    it(`counts a keep-alive socket and jobs started before setup the same way with ${order}`, async () => {
      await telemetry.shutdown();
      const stuck = new AbortController();
      const early = trackJob('before-setup', stuck);
      const s = await listen((_req: IncomingMessage, res: ServerResponse) => res.end('ok'));
      let shutdown: ReturnType<typeof gracefulShutdown> | undefined;
      if (order === 'gracefulShutdown() first') shutdown = gracefulShutdown(s.server, { signals: [] });
      telemetry = setupTelemetry({ serviceName: 'order', runtimeMetrics: false });
      shutdown ??= gracefulShutdown(s.server, { signals: [] });
      const agent = new Agent({ keepAlive: true });
      try {
        const body = await new Promise<string>((resolve, reject) => {
          httpRequest(`${s.url}/`, { agent }, (res) => {
            res.setEncoding('utf8');
            let text = '';
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve(text));
          }).on('error', reject).end();
        });
        assert.equal(body, 'ok');
        const samples = await scrapeHandler(telemetry.metricsHandler);
        assert.equal(value(samples, 'throughline_server_connections', { http_connection_state: 'idle' }), 1);
        assert.equal(value(samples, 'throughline_server_connections', { http_connection_state: 'active' }), 0);
        assert.equal(value(samples, 'throughline_detached_jobs_running'), 1, 'the job started before setupTelemetry()');
        early.settle(true);
        const after = await scrapeHandler(telemetry.metricsHandler);
        assert.equal(value(after, 'throughline_detached_jobs_running'), 0);
      } finally {
        agent.destroy();
        shutdown.uninstall();
        await s.close();
      }
    });
  }

  it('counts the connections of the handed-over server by state, from a real server', async () => {
    const released = deferred();
    const inHandler = deferred<ServerResponse>();
    const s = await listen((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/hold') {
        inHandler.resolve(res);
        void released.promise.then(() => res.end('done'));
      } else res.end('ok');
    });
    const serverSockets: Socket[] = [];
    s.server.on('connection', (socket: Socket) => serverSockets.push(socket));
    const shutdown = gracefulShutdown(s.server, { signals: [] });
    const connections = async () => {
      const samples = await scrapeHandler(telemetry.metricsHandler);
      return {
        active: value(samples, 'throughline_server_connections', { http_connection_state: 'active' }),
        idle: value(samples, 'throughline_server_connections', { http_connection_state: 'idle' }),
      };
    };
    const { port } = s.server.address() as AddressInfo;
    const open = async () => {
      const socket = connect(port, '127.0.0.1');
      const accepted = once(s.server, 'connection');
      await once(socket, 'connect');
      await accepted;
      return socket;
    };
    try {
      const idle = await open();
      const busy = await open();
      assert.deepEqual(await connections(), { active: 0, idle: 2 });
      busy.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
      const res = await inHandler.promise;
      assert.deepEqual(await connections(), { active: 1, idle: 1 });
      const done = once(res, 'close');
      released.resolve();
      await done;
      assert.deepEqual(await connections(), { active: 0, idle: 2 });
      const closed = serverSockets.map((socket) => once(socket, 'close'));
      idle.destroy();
      busy.destroy();
      await Promise.all(closed);
      assert.deepEqual(await connections(), { active: 0, idle: 0 });
    } finally {
      shutdown.uninstall();
      await s.close();
    }
  });
  it('counts an https server\'s connections once each (the TLS socket, not the raw one)', async () => {
    const fixture = (f: string) => readFileSync(new URL(`../fixtures/${f}`, import.meta.url));
    const server = createHttpsServer({ key: fixture('tls/key.pem'), cert: fixture('tls/cert.pem') }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const shutdown = gracefulShutdown(server, { signals: [] });
    const { port } = server.address() as AddressInfo;
    const accepted = once(server, 'secureConnection');
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    try {
      await once(socket, 'secureConnect');
      await accepted;
      const samples = await scrapeHandler(telemetry.metricsHandler);
      assert.equal(value(samples, 'throughline_server_connections', { http_connection_state: 'idle' }), 1);
      assert.equal(value(samples, 'throughline_server_connections', { http_connection_state: 'active' }), 0);
    } finally {
      shutdown.uninstall();
      socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
