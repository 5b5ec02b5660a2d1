// throughline's Prometheus text serializer against the OpenTelemetry exporter it
// replaces (same reader, same collection, so the same samples modulo the unit
// suffixes), against promtool, and the /metrics handler around it.
import { diag, ValueType } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createMetricsHandler, createPrometheusReader, PROMETHEUS_CONTENT_TYPE } from '../../src/telemetry/metrics-endpoint.js';
import { createPrometheusSerializer, prometheusMetricName } from '../../src/telemetry/prometheus-text.js';
import { parseExposition, type Sample } from '../helpers/exposition.js';
import { captureDiag } from '../helpers/otel.js';
import { listen } from '../helpers/server.js';

const PROMTOOL = (process.env.PATH ?? '')
  .split(delimiter)
  .map((dir) => join(dir, 'promtool'))
  .find((candidate) => existsSync(candidate));

async function promtoolCheck(exposition: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(PROMTOOL!, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(exposition);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

/** One provider with every kind of instrument, the tricky label values and two scopes. */
function populatedProvider(): { provider: MeterProvider; reader: MetricReader; exporter: PrometheusExporter } {
  const reader = createPrometheusReader();
  // Read by the OpenTelemetry exporter as well: both are cumulative, so they see the same values.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'orders', 'service.version': '1.2.3', 'host.cores': 2 }),
    readers: [reader, exporter],
  });
  const meter = provider.getMeter('throughline', '0.9.0');
  const other = provider.getMeter('other-lib');

  const duration = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration of HTTP server requests.',
    advice: { explicitBucketBoundaries: [0.005, 0.1, 1] },
  });
  duration.record(0.00390625, { 'http.route': '/a', 'http.response.status_code': 200 });
  duration.record(0.0625, { 'http.route': '/a', 'http.response.status_code': 200 });
  duration.record(7, { 'http.route': '/b', 'http.response.status_code': 503 });
  meter.createHistogram('payload.size', { unit: 'By', advice: { explicitBucketBoundaries: [100, 1000] } }).record(512);

  const jobs = meter.createCounter('jobs.settled', { unit: '{job}', description: 'Jobs.\nSettled \\ done.' });
  jobs.add(3, { outcome: 'completed' });
  jobs.add(1, { outcome: 'a "quoted"\nback\\slash' });
  meter.createCounter('cpu.time', { unit: 's' }).add(1.5, { state: 'user', 'flag.on': true, 'count.n': 7 });
  meter.createCounter('already_total', { unit: 's' }).add(2);

  meter.createUpDownCounter('queue.depth', { unit: '{item}' }).add(-4, { queue: 'q1' });
  meter.createObservableGauge('eventloop.utilization', { unit: '1', valueType: ValueType.DOUBLE }).addCallback((r) => r.observe(0.25));
  meter.createGauge('heap.used', { unit: 'By' }).record(1048576, { space: 'new' });
  meter.createGauge('link.rate', { unit: 'By/s' }).record(10);
  // Same name from a second scope: one family, both scopes' samples.
  other.createCounter('jobs.settled', { unit: '{job}' }).add(5, { outcome: 'completed' });
  return { provider, reader, exporter };
}

// What the exporter names each family, and what throughline names it.
const RENAMED: Record<string, string> = {
  http_server_request_duration: 'http_server_request_duration_seconds',
  payload_size: 'payload_size_bytes',
  jobs_settled_total: 'jobs_settled_total',
  cpu_time_total: 'cpu_time_seconds_total',
  already_total: 'already_seconds_total',
  queue_depth: 'queue_depth',
  eventloop_utilization: 'eventloop_utilization_ratio',
  heap_used: 'heap_used_bytes',
  link_rate: 'link_rate_bytes_per_second',
  target_info: 'target_info',
};

function rename(sample: Sample): Sample {
  const suffix = /_(bucket|sum|count)$/.exec(sample.name);
  const family = suffix && RENAMED[sample.name.slice(0, suffix.index)] !== undefined ? sample.name.slice(0, suffix.index) : sample.name;
  const renamed = RENAMED[family];
  if (renamed === undefined) throw new Error(`no expected name for the exporter's ${sample.name}`);
  return { ...sample, name: renamed + sample.name.slice(family.length) };
}

const key = (s: Sample): string =>
  `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}} ${s.value}`;

async function get(handler: Parameters<typeof listen>[0], method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const s = await listen(handler);
  try {
    const res = await fetch(`${s.url}/metrics`, { method });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  } finally {
    await s.close();
  }
}

describe('createPrometheusSerializer()', () => {
  afterEach(() => diag.disable());

  it('exposes the samples the OpenTelemetry exporter exposes, under the Collector names', async () => {
    const { provider, reader, exporter } = populatedProvider();
    try {
      const theirs = parseExposition((await get((req, res) => exporter.getMetricsRequestHandler(req, res))).body);
      const ours = parseExposition((await get(createMetricsHandler(reader))).body);
      assert.ok(theirs.length >= 27, `${theirs.length} samples`);
      assert.deepEqual(ours.map(key).sort(), theirs.map(rename).map(key).sort());
    } finally {
      await provider.shutdown();
    }
  });

  it('writes HELP, TYPE, escaped labels, cumulative buckets up to +Inf and target_info', async () => {
    const { provider, reader } = populatedProvider();
    try {
      const text = createPrometheusSerializer()((await reader.collect()).resourceMetrics);
      const lines = text.split('\n');
      assert.deepEqual(lines.slice(0, 3), [
        '# HELP target_info Target metadata',
        '# TYPE target_info gauge',
        'target_info{service_name="orders",service_version="1.2.3",host_cores="2"} 1',
      ]);
      const scope = 'otel_scope_name="throughline",otel_scope_version="0.9.0"';
      const route = `http_route="/a",http_response_status_code="200",${scope}`;
      for (const line of [
        '# HELP http_server_request_duration_seconds Duration of HTTP server requests.',
        '# TYPE http_server_request_duration_seconds histogram',
        `http_server_request_duration_seconds_bucket{${route},le="0.005"} 1`,
        `http_server_request_duration_seconds_bucket{${route},le="0.1"} 2`,
        `http_server_request_duration_seconds_bucket{${route},le="1"} 2`,
        `http_server_request_duration_seconds_bucket{${route},le="+Inf"} 2`,
        `http_server_request_duration_seconds_sum{${route}} 0.06640625`,
        `http_server_request_duration_seconds_count{${route}} 2`,
        '# HELP jobs_settled_total Jobs.\\nSettled \\\\ done.',
        '# TYPE jobs_settled_total counter',
        `jobs_settled_total{outcome="a \\"quoted\\"\\nback\\\\slash",${scope}} 1`,
        'jobs_settled_total{outcome="completed",otel_scope_name="other-lib"} 5',
        `cpu_time_seconds_total{state="user",flag_on="true",count_n="7",${scope}} 1.5`,
        '# TYPE queue_depth gauge',
        `queue_depth{queue="q1",${scope}} -4`,
        '# TYPE eventloop_utilization_ratio gauge',
        `eventloop_utilization_ratio{${scope}} 0.25`,
        `heap_used_bytes{space="new",${scope}} 1048576`,
        '# HELP link_rate_bytes_per_second description missing',
      ]) {
        assert.ok(lines.includes(line), `missing line ${line}\nin\n${text}`);
      }
      assert.equal(lines.filter((l) => l === '# TYPE jobs_settled_total counter').length, 1, 'one family for both scopes');
      assert.equal(text.endsWith('\n'), true);
      assert.equal(lines.filter((l) => l.startsWith('# UNIT')).length, 0, 'the unit is in the name; 0.0.4 has no UNIT');
    } finally {
      await provider.shutdown();
    }
  });

  it('passes promtool check metrics', async function () {
    if (!PROMTOOL) {
      if (process.env.CI) throw new Error('CI: promtool is not on PATH');
      console.log('      skipped: promtool is not on PATH (Debian: apt-get install prometheus)');
      this.skip();
    }
    const { provider, reader } = populatedProvider();
    try {
      const { code, output } = await promtoolCheck(createPrometheusSerializer()((await reader.collect()).resourceMetrics));
      assert.equal(output.trim(), '', 'promtool reports no problems');
      assert.equal(code, 0);
    } finally {
      await provider.shutdown();
    }
  });

  it('drops a family whose instruments disagree on the type, and warns once', async () => {
    const seen = captureDiag();
    const reader = createPrometheusReader();
    const provider = new MeterProvider({ readers: [reader] });
    try {
      provider.getMeter('a').createCounter('clash').add(1);
      provider.getMeter('b').createHistogram('clash_total').record(1);
      provider.getMeter('a').createCounter('kept').add(1);
      const serialize = createPrometheusSerializer();
      const first = parseExposition(serialize((await reader.collect()).resourceMetrics));
      serialize((await reader.collect()).resourceMetrics);
      assert.deepEqual([...new Set(first.map((s) => s.name))].sort(), ['kept_total', 'target_info']);
      assert.equal(seen.warnings.filter((w) => w.includes('"clash_total" have conflicting types')).length, 1, seen.warnings.join('\n'));
    } finally {
      await provider.shutdown();
    }
  });
});

describe('prometheusMetricName()', () => {
  const cases: [string, string, Parameters<typeof prometheusMetricName>[2], string][] = [
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['http.server.active_requests', '{request}', 'updowncounter', 'http_server_active_requests'],
    ['throughline.detached.jobs.settled', '{job}', 'counter', 'throughline_detached_jobs_settled_total'],
    ['nodejs.eventloop.time', 's', 'counter', 'nodejs_eventloop_time_seconds_total'],
    ['v8js.memory.heap.used', 'By', 'updowncounter', 'v8js_memory_heap_used_bytes'],
    ['system.cpu.utilization', '1', 'gauge', 'system_cpu_utilization_ratio'],
    ['items.processed', '1', 'counter', 'items_processed_total'],
    ['rpc.server.duration', 'ms', 'histogram', 'rpc_server_duration_milliseconds'],
    ['queue.wait_seconds', 's', 'histogram', 'queue_wait_seconds'],
    ['seconds.before.deadline', 's', 'gauge', 'seconds_before_deadline_seconds'],
    ['net.io', 'By/s', 'gauge', 'net_io_bytes_per_second'],
    ['requests_total', '{request}', 'counter', 'requests_total'],
    ['odd-name.with~chars', 'widgets', 'gauge', 'odd_name_with_chars_widgets'],
    ['3xx.responses', '', 'counter', '_3xx_responses_total'],
  ];
  for (const [name, unit, kind, expected] of cases) {
    it(`${name} (${unit || 'no unit'}, ${kind}) is ${expected}`, () => {
      assert.equal(prometheusMetricName(name, unit, kind), expected);
    });
  }
});

describe('createMetricsHandler()', () => {
  afterEach(() => diag.disable());

  it('answers GET and HEAD with the 0.0.4 content type', async () => {
    const { provider, reader } = populatedProvider();
    try {
      const handler = createMetricsHandler(reader);
      const got = await get(handler);
      assert.equal(got.status, 200);
      assert.equal(got.type, PROMETHEUS_CONTENT_TYPE);
      assert.match(got.body, /^http_server_request_duration_seconds_count\{http_route="\/b",.*\} 1$/m);
      const head = await get(handler, 'HEAD');
      assert.deepEqual(head, { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: '' });
    } finally {
      await provider.shutdown();
    }
  });

  it('serves what was collected when a callback fails, and tells diag', async () => {
    const seen = captureDiag();
    const reader = createPrometheusReader();
    const provider = new MeterProvider({ readers: [reader] });
    try {
      const meter = provider.getMeter('t');
      meter.createObservableGauge('broken').addCallback(() => {
        throw new Error('sensor unplugged');
      });
      meter.createCounter('fine').add(2);
      const got = await get(createMetricsHandler(reader));
      assert.equal(got.status, 200);
      assert.deepEqual(
        parseExposition(got.body).filter((s) => s.name !== 'target_info'),
        [{ name: 'fine_total', labels: { otel_scope_name: 't' }, value: 2 }],
      );
      assert.ok(seen.errors.includes('throughline: collecting metrics for /metrics reported errors'), seen.errors.join('\n'));
    } finally {
      await provider.shutdown();
    }
  });

  it('answers 500 with the reason, and tells diag, when the collection fails', async () => {
    const seen = captureDiag();
    // Never registered with a MeterProvider: collect() rejects.
    const got = await get(createMetricsHandler(createPrometheusReader()));
    assert.equal(got.status, 500);
    assert.equal(got.type, 'text/plain; charset=utf-8');
    assert.match(got.body, /^throughline: collecting metrics failed: .+/);
    assert.deepEqual(seen.errors, ['throughline: serving /metrics failed']);
  });
});
