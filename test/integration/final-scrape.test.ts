// Scrape-aware shutdown: `flushing` waits for a scrape that started after the
// last request was recorded, on the `prometheus: { port }` server or, for the
// app route, on a metrics-only listener at the app's port. Real sockets, a real
// Express app, real OpenTelemetry readers; the scraper is fetch().
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer, get as httpGet, type IncomingHttpHeaders, type Server } from 'node:http';
import { gracefulShutdown, setupTelemetry, traceContext, type ShutdownReport, type Telemetry } from '../../src/index.js';
import { resetState } from '../../src/testing.js';
import { phaseReached } from '../helpers/events.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { parseExposition, select, value } from '../helpers/exposition.js';

/** The request counter of traceContext()'s histogram, as Prometheus names it (one place to adapt a rename). */
const REQUESTS_COUNT = 'http_server_request_duration_seconds_count';
const FINAL = 'throughline_shutdown_final_scrape';

async function start(telemetry: Telemetry): Promise<{ server: Server; url: string }> {
  const app = EXPRESS_VARIANTS[0].express();
  app.use(traceContext());
  app.get('/metrics', telemetry.metricsHandler);
  app.get('/orders/:id', (_req, res) => void res.json({ ok: true }));
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * GET on a connection of its own. A keep-alive connection pooled by fetch()
 * may be the one `closing` just ended: Node 22's fetch then fails with "other
 * side closed" instead of retrying, which is the client's pooling, not what
 * this file tests (Prometheus's client retries an idle connection that closed).
 */
function get(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      res.setEncoding('utf8');
      let body = '';
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

async function scrape(url: string) {
  const res = await get(`${url}/metrics`);
  assert.equal(res.status, 200);
  return parseExposition(res.body);
}

const served = (samples: ReturnType<typeof parseExposition>) =>
  select(samples, REQUESTS_COUNT, { http_route: '/orders/:id' }).reduce((sum, s) => sum + s.value, 0);

describe('scrape-aware shutdown (finalScrapeTimeoutMs)', function () {
  this.timeout(20_000);
  let telemetry: Telemetry | undefined;
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
    resetState();
  });

  it('waits on the prometheus: { port } server for a scrape after the last request, which carries every count and says seen', async () => {
    telemetry = setupTelemetry({ serviceName: 'final-scrape', runtimeMetrics: false, prometheus: { port: 0, host: '127.0.0.1' } });
    const { server, url } = await start(telemetry);
    await new Promise((resolve) => setImmediate(resolve));
    const metricsUrl = `http://127.0.0.1:${(telemetry.metricsServer!.address() as AddressInfo).port}`;
    assert.equal(served(await scrape(metricsUrl)), 0);
    for (let i = 0; i < 7; i++) assert.equal((await fetch(`${url}/orders/${i}`)).status, 200);
    const shutdown = gracefulShutdown(server, { telemetry, signals: [], drainDelayMs: 0, finalScrapeTimeoutMs: 15_000 });
    const flushing = phaseReached(shutdown, 'flushing');
    const done = shutdown.terminate('test');
    await flushing;
    // The app port is closed, the metrics port still answers: this is the final scrape.
    await assert.rejects(fetch(`${url}/orders/late`));
    const final = await scrape(metricsUrl);
    assert.equal(served(final), 7);
    assert.equal(value(final, FINAL, { throughline_final_scrape_result: 'seen' }), 1);
    const report: ShutdownReport = await done;
    assert.equal(report.finalScrape, 'seen');
    assert.equal(report.flush, 'ok');
    assert.equal(report.exitCode, 0);
    assert.equal(telemetry.metricsServer!.listening, false);
  });

  it('keeps a metrics-only listener on the app port when the app route was scraped; other paths get 503', async () => {
    telemetry = setupTelemetry({ serviceName: 'final-scrape', runtimeMetrics: false });
    const { server, url } = await start(telemetry);
    assert.equal(served(await scrape(url)), 0);
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${url}/orders/${i}`)).status, 200);
    const shutdown = gracefulShutdown(server, { telemetry, signals: [], drainDelayMs: 0 });
    const flushing = phaseReached(shutdown, 'flushing');
    const done = shutdown.terminate('test');
    await flushing;
    assert.equal(server.listening, false);
    const other = await get(`${url}/orders/late`);
    assert.equal(other.status, 503);
    assert.equal(other.headers.connection, 'close');
    const final = await scrape(url);
    assert.equal(served(final), 5);
    assert.equal(value(final, FINAL, { throughline_final_scrape_result: 'seen' }), 1);
    assert.equal((await done).finalScrape, 'seen');
    await assert.rejects(fetch(`${url}/metrics`));
  });

  it('gives up after finalScrapeTimeoutMs and says timeout, without failing the exit code', async () => {
    telemetry = setupTelemetry({ serviceName: 'final-scrape', runtimeMetrics: false, prometheus: { port: 0, host: '127.0.0.1' } });
    const { server } = await start(telemetry);
    await new Promise((resolve) => setImmediate(resolve));
    await scrape(`http://127.0.0.1:${(telemetry.metricsServer!.address() as AddressInfo).port}`);
    const warnings: unknown[] = [];
    const logger = { info() {}, warn: (o: unknown) => warnings.push(o), error() {} };
    const report = await gracefulShutdown(server, { telemetry, signals: [], drainDelayMs: 0, finalScrapeTimeoutMs: 300, logger }).terminate('test');
    assert.equal(report.finalScrape, 'timeout');
    assert.ok(report.durationsMs.flushing >= 250, `flushing took ${report.durationsMs.flushing} ms`);
    assert.equal(report.exitCode, 0);
    assert.deepEqual(warnings, [{ finalScrape: 'timeout', timeoutMs: 300 }]);
  });

  it('does not wait in a process nobody ever scraped', async () => {
    telemetry = setupTelemetry({ serviceName: 'final-scrape', runtimeMetrics: false });
    const { server } = await start(telemetry);
    const report = await gracefulShutdown(server, { telemetry, signals: [], drainDelayMs: 0 }).terminate('test');
    assert.equal(report.finalScrape, 'skipped');
    assert.equal(telemetry.scrapes(), 0);
  });

  it('rejects a finalScrapeTimeoutMs that is not a number >= 0', () => {
    const server = createServer();
    assert.throws(() => gracefulShutdown(server, { signals: [], finalScrapeTimeoutMs: -1 }), /Expected `finalScrapeTimeoutMs` to be a finite number >= 0, got `-1`/);
  });
});

describe('no blind start: declareRoutes() and firstScrapeCheck()', function () {
  let telemetry: Telemetry | undefined;
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
    resetState();
  });

  for (const variant of EXPRESS_VARIANTS) {
    it(`${variant.name}: declared routes have series at zero before their first request, and one series after it`, async () => {
      telemetry = setupTelemetry({ serviceName: 'declared', runtimeMetrics: false });
      const app = variant.express();
      app.use(traceContext());
      app.get('/metrics', telemetry.metricsHandler);
      app.get('/orders/:id', (_req, res) => void res.json({ ok: true }));
      app.post('/orders', (_req, res) => void res.status(201).json({ ok: true }));
      assert.deepEqual(telemetry.declareRoutes(app, { statusCodes: [200, 201] }), [
        { method: 'GET', route: '/metrics' },
        { method: 'GET', route: '/orders/:id' },
        { method: 'POST', route: '/orders' },
      ]);
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const before = await scrape(url);
        const get200 = { http_route: '/orders/:id', http_request_method: 'GET', http_response_status_code: '200' };
        assert.equal(value(before, REQUESTS_COUNT, get200), 0);
        assert.equal(value(before, REQUESTS_COUNT, { http_route: '/orders', http_request_method: 'POST', http_response_status_code: '201' }), 0);
        assert.equal(value(before, 'http_server_request_duration_seconds_bucket', { ...get200, le: '+Inf' }), 0);
        assert.equal((await fetch(`${url}/orders/1`)).status, 200);
        const after = await scrape(url);
        assert.equal(value(after, REQUESTS_COUNT, get200), 1);
        assert.equal(value(after, REQUESTS_COUNT, { http_route: '/orders', http_request_method: 'POST', http_response_status_code: '201' }), 0);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }

  it('declareRoutes() rejects what is not an Express app, and bad status codes', () => {
    telemetry = setupTelemetry({ serviceName: 'declared', runtimeMetrics: false });
    assert.throws(() => telemetry!.declareRoutes({}), /Expected `app` to be an Express 4 or 5 application/);
    assert.throws(() => telemetry!.declareRoutes(EXPRESS_VARIANTS[0].express(), { statusCodes: [42] }), /Expected `statusCodes` to be an array of HTTP status codes/);
  });

  it('firstScrapeCheck() fails until the first scrape was served, then passes', async () => {
    telemetry = setupTelemetry({ serviceName: 'declared', runtimeMetrics: false });
    const { server, url } = await start(telemetry);
    try {
      assert.throws(() => telemetry!.firstScrapeCheck(), /waiting for the first scrape/);
      assert.doesNotThrow(() => telemetry!.firstScrapeCheck({ timeoutMs: 0 }));
      await scrape(url);
      assert.doesNotThrow(() => telemetry!.firstScrapeCheck());
      assert.equal(telemetry.scrapes(), 1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
