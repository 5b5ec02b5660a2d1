// End to end against a real Prometheus server: the exposition must be what
// Prometheus scrapes and stores, not only what our parser accepts.
import { metrics, propagation, trace } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setupTelemetry, traceContext, type Telemetry } from '../../src/index.js';
import { eventually } from '../../examples/rollout/eventually.js';
import { freePort } from '../../examples/rollout/free-port.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { listen } from '../helpers/server.js';

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, bin);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}


async function runTool(cmd: string, args: string[], stdin: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(stdin);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

const PROMETHEUS = which('prometheus');
const PROMTOOL = which('promtool');
const MISSING = 'the `prometheus` binary (with `promtool`) is not on PATH: install it (Debian: apt-get install prometheus; .ci/run does)';

describe('metrics scraped by a real Prometheus server', function () {
  this.timeout(60_000);
  let telemetry: Telemetry | undefined;
  let app: Awaited<ReturnType<typeof listen>> | undefined;
  let prometheus: ChildProcess | undefined;
  let promLog = '';
  let dir: string | undefined;
  let promUrl = '';

  before(async function () {
    if (!PROMETHEUS || !PROMTOOL) {
      if (process.env.CI) throw new Error(`CI: ${MISSING}`);
      console.log(`      skipped: ${MISSING}`);
      this.skip();
    }
    metrics.disable();
    trace.disable();
    propagation.disable();
    telemetry = setupTelemetry({ serviceName: 'prom-e2e', serviceVersion: '9.9.9', serviceInstanceId: 'e2e-1' });
    const express = EXPRESS_VARIANTS[0].express();
    express.set('env', 'test');
    express.use(traceContext());
    express.get('/metrics', telemetry.metricsHandler);
    express.get('/orders/:id', (_req, res) => void res.json({ ok: true }));
    express.get('/broken', (_req, res) => void res.status(503).end());
    app = await listen(express);

    dir = await mkdtemp(join(tmpdir(), 'throughline-prom-'));
    const target = new URL(app.url).host;
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: app',
        `    static_configs: [{ targets: ['${target}'] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    const exited = once(prometheus, 'exit').then(([code]) => {
      throw new Error(`prometheus exited with ${String(code)}:\n${promLog}`);
    });
    exited.catch(() => {});
    await Promise.race([
      exited,
      eventually('prometheus ready', 30_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined)),
    ]);
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = once(prometheus, 'exit');
      prometheus.kill('SIGTERM');
      await exited;
    }
    await app?.close();
    await telemetry?.shutdown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] }; error?: string };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
    return body.data.result;
  }

  /** The single value of `promql` once Prometheus has scraped `expected`. */
  async function arrives(promql: string, expected: number): Promise<void> {
    await eventually(`${promql} == ${expected}`, 20_000, async () => {
      const result = await query(promql);
      return result.length === 1 && Number(result[0]!.value[1]) === expected ? true : undefined;
    });
  }

  it('scrapes the app: HTTP, lifecycle and runtime series arrive with their values', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${app!.url}/orders/${i}`)).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${app!.url}/broken`)).status, 503);

    await arrives('up{job="app"}', 1);
    await arrives('sum(http_server_request_duration_seconds_count{job="app",http_route="/orders/:id",http_response_status_code="200"})', 3);
    await arrives('sum(http_server_request_duration_seconds_count{job="app",http_route="/broken",error_type="503"})', 2);
    await arrives('sum(http_server_request_duration_seconds_bucket{job="app",http_route="/orders/:id",le="+Inf"})', 3);
    await arrives('throughline_shutdown_phase_ratio{job="app",throughline_shutdown_phase="running"}', 1);
    await arrives('count(target_info{job="app",service_name="prom-e2e",service_version="9.9.9",service_instance_id="e2e-1"})', 1);
    // The documented error-ratio query evaluates: 2 of 5 requests were 5xx.
    await arrives(
      'sum(http_server_request_duration_seconds_count{job="app",http_response_status_code=~"5.."}) / sum(http_server_request_duration_seconds_count{job="app"})',
      0.4,
    );
    const heap = await query('sum(v8js_memory_heap_used_bytes{job="app"})');
    assert.ok(Number(heap[0]?.value[1]) > 0, 'runtime metrics arrive');
    // No scrape errors or dropped samples on Prometheus's side.
    await arrives('scrape_samples_post_metric_relabeling{job="app"} - scrape_samples_scraped{job="app"}', 0);
  });

  it('passes promtool check metrics', async () => {
    const exposition = await (await fetch(`${app!.url}/metrics`)).text();
    const { code, output } = await runTool(PROMTOOL!, ['check', 'metrics'], exposition);
    assert.equal(output.trim(), '', 'promtool reports no problems');
    assert.equal(code, 0);
  });
  it('accepts every PromQL query of docs/metrics.md (promtool check rules)', async () => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const queries = [...doc.matchAll(/^```promql\n([\s\S]*?)^```$/gm)].flatMap((m) => m[1]!.split(/\n\s*\n/)).map((q) => q.trim());
    assert.ok(queries.length >= 8, `${queries.length} queries`);
    const rules = [
      'groups:',
      '  - name: docs',
      '    rules:',
      ...queries.map((q, i) => `      - record: docs:query${i}\n        expr: ${JSON.stringify(q.replace(/\s+/g, ' '))}`),
      '',
    ].join('\n');
    const file = join(dir!, 'docs-rules.yml');
    await writeFile(file, rules);
    const { code, output } = await runTool(PROMTOOL!, ['check', 'rules', file], '');
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${queries.length} rules found`));
  });
});
