// The push alternative to scrape-aware shutdown: `metricsExporter: 'otlp'`
// exports over OTLP/HTTP (JSON), configured by the standard environment
// variables, and its last export happens in `flushing`, after the last
// request. A real HTTP receiver decodes every export request.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { gracefulShutdown, setupTelemetry, traceContext, type Telemetry } from '../../src/index.js';
import { resetState } from '../../src/testing.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';

/** The OTLP name of traceContext()'s request histogram (one place to adapt a rename). */
const REQUEST_DURATION = 'http.server.request.duration';

interface OtlpMetricsJson {
  resourceMetrics?: {
    scopeMetrics?: {
      metrics?: {
        name: string;
        histogram?: { dataPoints?: { attributes?: { key: string; value: { stringValue?: string } }[]; count?: number | string }[] };
      }[];
    }[];
  }[];
}

/** Requests counted by the histogram for `route`, in one export request. */
function countsOf(payload: OtlpMetricsJson, route: string): number | undefined {
  let total: number | undefined;
  for (const rm of payload.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        if (m.name !== REQUEST_DURATION) continue;
        for (const dp of m.histogram?.dataPoints ?? []) {
          if (dp.attributes?.some((a) => a.key === 'http.route' && a.value.stringValue === route)) total = (total ?? 0) + Number(dp.count);
        }
      }
    }
  }
  return total;
}

describe("metricsExporter: 'otlp' (push)", function () {
  this.timeout(20_000);
  let receiver: Server;
  let exports: { path: string; contentType: string; payload: OtlpMetricsJson }[];
  let telemetry: Telemetry | undefined;
  const saved = { ...process.env };

  beforeEach(async () => {
    exports = [];
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        exports.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), payload: JSON.parse(body.toString('utf8')) as OtlpMetricsJson });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT = `http://127.0.0.1:${port}/v1/metrics`;
    process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = 'http/json';
  });

  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
    resetState();
    process.env = { ...saved };
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('exports last in flushing: the final export counts every request served, with no scrape', async () => {
    // A minute between exports: only the shutdown's export can carry the requests.
    telemetry = setupTelemetry({ serviceName: 'otlp-push', runtimeMetrics: false, metricsExporter: 'otlp', metricsExportIntervalMs: 60_000 });
    const app = EXPRESS_VARIANTS[1].express();
    app.use(traceContext());
    app.get('/orders/:id', (_req, res) => void res.json({ ok: true }));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const n = 23;
    for (let i = 0; i < n; i++) assert.equal((await fetch(`${url}/orders/${i}`)).status, 200);
    assert.equal(exports.length, 0);
    const report = await gracefulShutdown(server, { telemetry, signals: [], drainDelayMs: 0 }).terminate('test');
    assert.equal(report.flush, 'ok');
    assert.equal(report.finalScrape, 'skipped');
    assert.ok(exports.length >= 1, 'no export reached the receiver');
    assert.ok(exports.every((e) => e.path === '/v1/metrics' && e.contentType.startsWith('application/json')), JSON.stringify(exports.map((e) => [e.path, e.contentType])));
    assert.equal(countsOf(exports.at(-1)!.payload, '/orders/:id'), n);
  });

  it("rejects a metricsExporter that is neither 'otlp' nor an exporter, and an interval without one", () => {
    assert.throws(() => setupTelemetry({ serviceName: 'x', metricsExporter: 'prometheus' as never }), /Expected `metricsExporter` to be `'otlp'` or a PushMetricExporter/);
    assert.throws(() => setupTelemetry({ serviceName: 'x', metricsExportIntervalMs: 1000 }), /Expected `metricsExportIntervalMs` to be given only with `metricsExporter`/);
    assert.throws(() => setupTelemetry({ serviceName: 'x', metricsExporter: 'otlp', metricsExportIntervalMs: 0 }), /Expected `metricsExportIntervalMs` to be a finite number >= 1/);
  });
});
