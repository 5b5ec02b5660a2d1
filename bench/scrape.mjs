// What a Prometheus scrape costs with throughline next to the alternatives, in
// the same run, for 2,000 histogram series (200 routes x 5 status codes x 2
// methods, the buckets and labels traceContext() records):
//   - throughline: the SDK's collect() + throughline's serializer (the /metrics handler);
//   - the OpenTelemetry exporter: the same reader, its own serializer
//     (@opentelemetry/exporter-prometheus getMetricsRequestHandler);
//   - prom-client 15 and @prometheus-io/client (its successor), idiomatic API;
// each over real HTTP on 127.0.0.1 and in process (collect + serialize), plus the
// per-request cost of recording (active requests +1/-1, one duration observation).
// Run: npm run bench:scrape            (builds first; uses the built dist/)
//      npm run bench:scrape -- --write (also writes the table into docs/metrics.md)
//      node bench/scrape.mjs --json    (one JSON line: what npm run bench puts in docs/benchmarks.md)
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import promIo from '@prometheus-io/client';
import promClient from 'prom-client';
import { httpServerInstruments, HTTP_DURATION_BUCKETS_SECONDS } from '../dist/src/telemetry/http-server-metrics.js';
import { createMetricsHandler, createPrometheusReader } from '../dist/src/telemetry/metrics-endpoint.js';
import { createPrometheusSerializer } from '../dist/src/telemetry/prometheus-text.js';
import { median } from './stats.mjs';

const ROUTES = 200;
const STATUSES = [200, 201, 404, 500, 503];
const METHODS = ['GET', 'POST'];
const SCRAPES = Number(process.env.SCRAPES ?? 20);
const RECORDS = Number(process.env.RECORDS ?? 1_000_000);
const ROUNDS = 4;

const series = [];
for (let r = 0; r < ROUTES; r++) {
  for (const status of STATUSES) for (const method of METHODS) series.push({ route: `/api/v1/resource${r}/:id`, status, method });
}

// --- OpenTelemetry SDK: throughline's reader, and the exporter on a twin provider
// fed the same records (a second reader on one provider would double the
// recording cost measured below).
const resource = resourceFromAttributes({ 'service.name': 'bench', 'service.version': '1.0.0', 'service.instance.id': 'bench-1' });
const reader = createPrometheusReader();
const provider = new MeterProvider({ resource, readers: [reader] });
const exporter = new PrometheusExporter({ preventServerStart: true });
const twin = new MeterProvider({ resource, readers: [exporter] });
const otelRecorder = (instruments) => (s, seconds) => {
  // As the middleware does: the in-flight count is a plain counter read at
  // collection; the duration's attribute set is looked up per outcome.
  const active = instruments.active(s.method, 'http');
  active.count++;
  active.count--;
  instruments.duration.record(seconds, active.durationAttributes(s.route, s.status, false));
};

// --- prom-client and @prometheus-io/client: the same shape, their idiomatic API.
function promLike(client) {
  const registry = new client.Registry();
  const duration = new client.Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests.',
    labelNames: ['http_request_method', 'url_scheme', 'http_route', 'http_response_status_code'],
    buckets: [...HTTP_DURATION_BUCKETS_SECONDS],
    registers: [registry],
  });
  const activeGauge = new client.Gauge({
    name: 'http_server_active_requests',
    help: 'Number of active HTTP server requests.',
    labelNames: ['http_request_method', 'url_scheme'],
    registers: [registry],
  });
  const record = (s, seconds) => {
    const active = { http_request_method: s.method, url_scheme: 'http' };
    activeGauge.inc(active);
    activeGauge.dec(active);
    duration.observe({ ...active, http_route: s.route, http_response_status_code: String(s.status) }, seconds);
  };
  const handler = async (_req, res) => {
    const body = await registry.metrics();
    res.setHeader('content-type', registry.contentType);
    res.end(body);
  };
  return { registry, record, handler, serialize: () => registry.metrics() };
}
const prom = promLike(promClient);
const promIoClient = promLike(promIo);

const otelRecord = otelRecorder(httpServerInstruments(provider));
const twinRecord = otelRecorder(httpServerInstruments(twin));
for (const s of series) {
  otelRecord(s, 0.042);
  twinRecord(s, 0.042);
  prom.record(s, 0.042);
  promIoClient.record(s, 0.042);
}

const ourSerializer = createPrometheusSerializer();
const theirSerializer = new PrometheusSerializer();
const contenders = [
  {
    name: 'throughline',
    handler: createMetricsHandler(reader),
    inProcess: async () => ourSerializer((await reader.collect()).resourceMetrics),
  },
  {
    name: 'OTel exporter',
    handler: (req, res) => exporter.getMetricsRequestHandler(req, res),
    inProcess: async () => theirSerializer.serialize((await exporter.collect()).resourceMetrics),
  },
  { name: 'prom-client', handler: prom.handler, inProcess: prom.serialize },
  { name: '@prometheus-io/client', handler: promIoClient.handler, inProcess: promIoClient.serialize },
];

async function serve(handler) {
  const server = createServer(handler);
  // The recording loops block for seconds; a keep-alive socket the server
  // times out meanwhile would reset the next fetch.
  server.keepAliveTimeout = 120_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/metrics` };
}
for (const c of contenders) {
  Object.assign(c, await serve(c.handler));
  c.http = [];
  c.ser = [];
}

async function time(fn, into, n) {
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    into.push(performance.now() - start);
  }
}

// Warm up, then interleave rounds so machine noise hits every contender alike.
for (const c of contenders) {
  c.sample = await (await fetch(c.url)).text();
  for (let i = 0; i < 3; i++) await (await fetch(c.url)).text();
  for (let i = 0; i < 3; i++) await c.inProcess();
}
const perRound = Math.max(1, Math.round(SCRAPES / ROUNDS));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of contenders) {
    await time(async () => (await fetch(c.url)).text(), c.http, perRound);
    // Buffer.from() is what res.end() does with the text: a string built by
    // concatenation is only flattened there, so stop the clock after it.
    await time(async () => Buffer.from(await c.inProcess()), c.ser, perRound);
  }
}

function timeRecords(record) {
  for (let i = 0; i < 100_000; i++) record(series[i % series.length], 0.01 + (i % 100) / 1000); // warm-up
  const start = performance.now();
  for (let i = 0; i < RECORDS; i++) record(series[i % series.length], 0.01 + (i % 100) / 1000);
  return ((performance.now() - start) * 1e6) / RECORDS;
}
contenders[0].recordNs = timeRecords(otelRecord);
contenders[1].recordNs = contenders[0].recordNs; // the same SDK instruments
contenders[2].recordNs = timeRecords(prom.record);
contenders[3].recordNs = timeRecords(promIoClient.record);

const durationSeries = (text) => text.split('\n').filter((l) => /^http_server_request_duration(_seconds)?_count\{/.test(l)).length;
const base = contenders[2];
const fmt = (n, d = 1) => n.toFixed(d);
const rows = [
  ['measure', ...contenders.map((c) => c.name)],
  ['histogram series exposed', ...contenders.map((c) => String(durationSeries(c.sample)))],
  ['scrape over HTTP, ms (median)', ...contenders.map((c) => fmt(median(c.http)))],
  ['collect + serialize in process, ms (median)', ...contenders.map((c) => fmt(median(c.ser)))],
  ['in process, vs prom-client', ...contenders.map((c) => `${fmt(median(c.ser) / median(base.ser), 2)}x`)],
  ['exposition size, KiB', ...contenders.map((c) => fmt(Buffer.byteLength(c.sample) / 1024, 0))],
  ['recording per request, ns', ...contenders.map((c) => fmt(c.recordNs, 0))],
];
const header = `Node ${process.version}, ${ROUNDS * perRound} scrapes each in ${ROUNDS} interleaved rounds, ${RECORDS} recordings; 2,000 series = ${ROUTES} routes x ${STATUSES.length} statuses x ${METHODS.length} methods`;
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
if (process.argv.includes('--json')) {
  const figures = contenders.map((c) => ({ name: c.name, httpMs: median(c.http), inProcessMs: median(c.ser), recordNs: c.recordNs, series: durationSeries(c.sample) }));
  console.log(JSON.stringify({ header, rows, figures }));
} else {
  console.log(header);
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  '));
}

if (process.argv.includes('--write')) {
  const file = new URL('../docs/metrics.md', import.meta.url);
  const doc = readFileSync(file, 'utf8');
  const start = '<!-- bench:scrape:start -->';
  const end = '<!-- bench:scrape:end -->';
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i === -1 || j < i) throw new Error(`docs/metrics.md has no ${start} ... ${end} section`);
  const table = [
    `| ${rows[0].join(' | ')} |`,
    `|${rows[0].map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const day = new Date().toISOString().slice(0, 10);
  writeFileSync(file, `${doc.slice(0, i + start.length)}\n${header} (${day}):\n\n${table}\n${doc.slice(j)}`);
  console.log('wrote docs/metrics.md');
}

for (const c of contenders) {
  c.server.close();
  c.server.closeAllConnections();
}
await Promise.all([provider.shutdown(), twin.shutdown()]);
