// What Prometheus metrics cost with throughline (OpenTelemetry SDK +
// @opentelemetry/exporter-prometheus) next to prom-client, in the same run:
//   1. one scrape of 2,000 histogram series (200 routes x 5 status codes x 2 methods),
//      over real HTTP on 127.0.0.1, and the serialization alone;
//   2. the per-request cost of recording: what traceContext() records per
//      request (the active_requests count +1/-1, one duration observation).
// Run: npm run bench:scrape   (builds first; uses the built dist/)
import { createServer } from 'node:http';
import { metrics } from '@opentelemetry/api';
import client from 'prom-client';
import { setupTelemetry } from '../dist/src/index.js';
import { httpServerInstruments, HTTP_DURATION_BUCKETS_SECONDS } from '../dist/src/telemetry/http-server-metrics.js';

const ROUTES = 200;
const STATUSES = [200, 201, 404, 500, 503];
const METHODS = ['GET', 'POST'];
const SCRAPES = Number(process.env.SCRAPES ?? 30);
const RECORDS = Number(process.env.RECORDS ?? 1_000_000);

const series = [];
for (let r = 0; r < ROUTES; r++) {
  for (const status of STATUSES) for (const method of METHODS) series.push({ route: `/api/v1/resource${r}/:id`, status, method });
}

// --- throughline: the real setup, the real instruments traceContext() uses.
const telemetry = setupTelemetry({ serviceName: 'bench', runtimeMetrics: false });
const otel = httpServerInstruments(metrics.getMeterProvider());
const otelRecord = (s, seconds) => {
  // As the middleware does: the in-flight count is a plain counter read at
  // collection; the duration gets a fresh attribute object per request.
  const active = otel.active(s.method, 'http');
  active.count++;
  active.count--;
  otel.duration.record(seconds, {
    ...active.attributes,
    'http.route': s.route,
    'http.response.status_code': s.status,
  });
};

// --- prom-client: the same shape, its idiomatic API.
const registry = new client.Registry();
const promDuration = new client.Histogram({
  name: 'http_server_request_duration_seconds',
  help: 'Duration of HTTP server requests.',
  labelNames: ['http_request_method', 'url_scheme', 'http_route', 'http_response_status_code'],
  buckets: [...HTTP_DURATION_BUCKETS_SECONDS],
  registers: [registry],
});
const promActive = new client.Gauge({
  name: 'http_server_active_requests',
  help: 'Number of active HTTP server requests.',
  labelNames: ['http_request_method', 'url_scheme'],
  registers: [registry],
});
const promRecord = (s, seconds) => {
  const active = { http_request_method: s.method, url_scheme: 'http' };
  promActive.inc(active);
  promActive.dec(active);
  promDuration.observe({ ...active, http_route: s.route, http_response_status_code: String(s.status) }, seconds);
};

// Populate all 2,000 series in both.
for (const s of series) {
  otelRecord(s, 0.042);
  promRecord(s, 0.042);
}

async function serve(handler) {
  const server = createServer(handler);
  // The recording loops block for seconds; a keep-alive socket the server
  // times out meanwhile would reset the next fetch.
  server.keepAliveTimeout = 120_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/metrics` };
}

const otelServer = await serve(telemetry.metricsHandler);
const promServer = await serve(async (_req, res) => {
  const body = await registry.metrics();
  res.setHeader('content-type', registry.contentType);
  res.end(body);
});

async function timeScrapes(url) {
  let bytes = 0;
  for (let i = 0; i < 5; i++) bytes = (await (await fetch(url)).text()).length; // warm-up
  const start = performance.now();
  for (let i = 0; i < SCRAPES; i++) await (await fetch(url)).text();
  return { ms: (performance.now() - start) / SCRAPES, bytes };
}

// Serialization alone (no HTTP): the exporter's collect + serialize vs registry.metrics().
async function timeInProcess(fn) {
  for (let i = 0; i < 5; i++) await fn();
  const start = performance.now();
  for (let i = 0; i < SCRAPES; i++) await fn();
  return (performance.now() - start) / SCRAPES;
}
const otelInProcess = () =>
  new Promise((resolve) => {
    const res = { statusCode: 0, headersSent: false, setHeader() {}, end: resolve };
    telemetry.metricsHandler({}, res);
  });

function timeRecords(record) {
  for (let i = 0; i < 100_000; i++) record(series[i % series.length], 0.01 + (i % 100) / 1000); // warm-up
  const start = performance.now();
  for (let i = 0; i < RECORDS; i++) record(series[i % series.length], 0.01 + (i % 100) / 1000);
  return ((performance.now() - start) * 1e6) / RECORDS;
}

// Interleave the two so machine noise hits both alike.
const otelScrape = await timeScrapes(otelServer.url);
const promScrape = await timeScrapes(promServer.url);
const otelSer = await timeInProcess(otelInProcess);
const promSer = await timeInProcess(() => registry.metrics());
const otelNs = timeRecords(otelRecord);
const promNs = timeRecords(promRecord);

const seriesCount = (text) => text.split('\n').filter((l) => l.startsWith('http_server_request_duration') && l.includes('_count')).length;
const otelSeries = seriesCount(await (await fetch(otelServer.url)).text());
const promSeries = seriesCount(await (await fetch(promServer.url)).text());

const fmt = (n, d = 2) => n.toFixed(d);
const rows = [
  ['measure', 'throughline (OTel SDK)', 'prom-client', 'ratio'],
  ['histogram series exposed', String(otelSeries), String(promSeries), ''],
  ['scrape over HTTP, ms', fmt(otelScrape.ms), fmt(promScrape.ms), `${fmt(otelScrape.ms / promScrape.ms)}x`],
  ['serialize in process, ms', fmt(otelSer), fmt(promSer), `${fmt(otelSer / promSer)}x`],
  ['exposition size, KiB', fmt(otelScrape.bytes / 1024, 0), fmt(promScrape.bytes / 1024, 0), `${fmt(otelScrape.bytes / promScrape.bytes)}x`],
  ['recording per request, ns', fmt(otelNs, 0), fmt(promNs, 0), `${fmt(otelNs / promNs)}x`],
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`Node ${process.version}, ${SCRAPES} scrapes, ${RECORDS} recordings; 2,000 series = ${ROUTES} routes x ${STATUSES.length} statuses x ${METHODS.length} methods`);
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  '));

otelServer.server.close();
otelServer.server.closeAllConnections();
promServer.server.close();
promServer.server.closeAllConnections();
await telemetry.shutdown();
