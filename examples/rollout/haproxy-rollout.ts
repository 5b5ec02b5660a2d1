// The rollout with real parts (issue 13): pods (plain node processes, pod.ts)
// behind a real HAProxy health-checking /health/ready every second, a real
// Prometheus scraping each pod's metrics port, open-loop keep-alive load.
// Each old pod is replaced by starting a new one, waiting until HAProxy has
// it UP, then SIGTERM (HAProxy is told nothing). The figures come from
// Prometheus's HTTP API. Used by `npm run rollout -- --haproxy` and
// test/proofs/rollout-haproxy.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { eventually } from './eventually.js';

/** The request counter of traceContext()'s histogram as Prometheus names it: the one place to adapt a rename. */
export const REQUESTS_COUNT_SERIES = 'http_server_request_duration_seconds_count';
const ROUTE = '/work';
const POD = fileURLToPath(new URL('./pod.ts', import.meta.url));

export interface HaproxyRolloutOptions {
  readonly pods: number;
  readonly ratePerSecond: number;
  readonly durationS: number;
  readonly scrapeIntervalS: number;
  /** Pod environment: hold readiness until the first scrape. Default true. */
  readonly holdReady?: boolean;
  /** drainDelayMs of each pod; the library default when undefined. */
  readonly drainDelayMs?: number;
  readonly log?: (line: string) => void;
}

export interface PodFigures {
  readonly pod: string;
  readonly served: number;
  readonly recorded: number;
  readonly firstSample: number;
  readonly shutdownMs?: number;
  readonly finalScrape?: string;
  readonly exitCode?: number | null;
}

export interface HaproxyRolloutResult {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly failures: string[];
  readonly pods: PodFigures[];
  readonly lost: number;
  readonly firstSample: number;
  /** 1 - min/median of sum(rate()) over the load, after the first rate window. */
  readonly rateDip: number;
  /** [unix seconds, sum(rate()) req/s] over the load. */
  readonly rateSeries: [number, number][];
}

export function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, bin);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


interface Slot {
  readonly name: string;
  readonly port: number;
  readonly metricsPort: number;
}

interface RunningPod {
  readonly slot: Slot;
  readonly child: ChildProcess;
  report?: { totalMs: number; finalScrape: string } | undefined;
  readonly exited: Promise<number | null>;
}

function startPod(slot: Slot, opts: HaproxyRolloutOptions): RunningPod {
  const child = spawn(process.execPath, ['--import', 'tsx', POD], {
    env: {
      ...process.env,
      POD_NAME: slot.name,
      POD_PORT: String(slot.port),
      POD_METRICS_PORT: String(slot.metricsPort),
      POD_HOLD_READY: opts.holdReady === false ? '0' : '1',
      ...(opts.drainDelayMs !== undefined && { POD_DRAIN_DELAY_MS: String(opts.drainDelayMs) }),
      NODE_V8_COVERAGE: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pod: RunningPod = { slot, child, exited: once(child, 'exit').then(([code]) => code as number | null) };
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const msg = JSON.parse(line) as { kind: string; report?: RunningPod['report'] };
      if (msg.kind === 'report') pod.report = msg.report;
    }
  });
  return pod;
}

async function haproxyStatus(statsUrl: string): Promise<Map<string, string>> {
  const csv = await (await fetch(`${statsUrl};csv`)).text();
  const status = new Map<string, string>();
  for (const line of csv.split('\n')) {
    const cols = line.split(',');
    if (cols[0] === 'pods' && cols[1] !== 'BACKEND' && cols[1] !== 'FRONTEND') status.set(cols[1]!, cols[17]!);
  }
  return status;
}

/**
 * Runs one rollout and returns its figures. Needs `haproxy` and `prometheus` on PATH.
 *
 * @example
 * const result = await runHaproxyRollout({ pods: 2, ratePerSecond: 100, durationS: 25, scrapeIntervalS: 5 });
 */
export async function runHaproxyRollout(opts: HaproxyRolloutOptions): Promise<HaproxyRolloutResult> {
  const log = opts.log ?? (() => {});
  const haproxyBin = which('haproxy');
  const prometheusBin = which('prometheus');
  if (!haproxyBin || !prometheusBin) throw new Error('haproxy and prometheus must be on PATH (Debian: apt-get install haproxy prometheus)');
  const dir = await mkdtemp(join(tmpdir(), 'throughline-haproxy-'));
  const children: ChildProcess[] = [];
  const pods: RunningPod[] = [];
  try {
    // Two slots per pod: the old one, and the one its replacement starts in.
    const slots: Slot[] = [];
    for (let i = 0; i < opts.pods * 2; i++) slots.push({ name: `pod-${i % opts.pods}-v${i < opts.pods ? 1 : 2}`, port: await freePort(), metricsPort: await freePort() });
    const frontPort = await freePort();
    const statsPort = await freePort();
    const promPort = await freePort();
    await writeFile(
      join(dir, 'haproxy.cfg'),
      [
        'global',
        '  maxconn 1000',
        'defaults',
        '  mode http',
        '  timeout connect 1s',
        '  timeout client 30s',
        '  timeout server 30s',
        '  retries 3',
        '  option redispatch',
        '  default-server inter 1s fall 1 rise 1',
        'frontend fe',
        `  bind 127.0.0.1:${frontPort}`,
        '  default_backend pods',
        'backend pods',
        '  balance roundrobin',
        '  option httpchk GET /health/ready',
        '  http-check expect status 200',
        ...slots.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check`),
        'listen stats',
        `  bind 127.0.0.1:${statsPort}`,
        '  stats enable',
        '  stats uri /stats',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${opts.scrapeIntervalS}s`,
        `  scrape_timeout: ${Math.min(opts.scrapeIntervalS, 2)}s`,
        'scrape_configs:',
        '  - job_name: pods',
        `    static_configs: [{ targets: [${slots.map((s) => `'127.0.0.1:${s.metricsPort}'`).join(', ')}] }]`,
        '',
      ].join('\n'),
    );
    const promUrl = `http://127.0.0.1:${promPort}`;
    const statsUrl = `http://127.0.0.1:${statsPort}/stats`;
    const prometheus = spawn(
      prometheusBin,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=error'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(prometheus);
    const haproxy = spawn(haproxyBin, ['-f', join(dir, 'haproxy.cfg'), '-db', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(haproxy);
    await eventually('prometheus ready', 30_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
    await eventually('haproxy stats', 10_000, async () => ((await haproxyStatus(statsUrl)).size === slots.length ? true : undefined));

    const upIn = async (slot: Slot) =>
      eventually(`${slot.name} UP in haproxy`, 60_000, async () => ((await haproxyStatus(statsUrl)).get(slot.name) === 'UP' ? true : undefined));
    for (const slot of slots.slice(0, opts.pods)) pods.push(startPod(slot, opts));
    await Promise.all(pods.map((p) => upIn(p.slot)));
    // The empty slots must be DOWN before the load starts (HAProxy starts servers UP).
    await eventually('empty slots DOWN', 10_000, async () => {
      const status = await haproxyStatus(statsUrl);
      return slots.slice(opts.pods).every((s) => status.get(s.name)?.startsWith('DOWN')) ? true : undefined;
    });
    log(`pods up behind haproxy; load ${opts.ratePerSecond} req/s for ${opts.durationS} s, scrapes every ${opts.scrapeIntervalS} s`);

    // Open-loop load: one request every 1/rate s whatever the responses do.
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const load = { sent: 0, ok: 0, failed: 0, failures: [] as string[], byPod: new Map<string, number>() };
    const pending = new Set<Promise<void>>();
    const fire = () => {
      load.sent++;
      const p = new Promise<void>((settle) => {
        const req = get(`http://127.0.0.1:${frontPort}${ROUTE}`, { agent, timeout: 10_000 }, (res) => {
          res.resume();
          res.on('end', () => {
            const pod = String(res.headers['x-pod'] ?? '');
            if (res.statusCode === 200 && pod) {
              load.ok++;
              load.byPod.set(pod, (load.byPod.get(pod) ?? 0) + 1);
            } else {
              load.failed++;
              load.failures.push(`status ${String(res.statusCode)}`);
            }
            settle();
          });
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (error) => {
          load.failed++;
          load.failures.push(error.message);
          settle();
        });
      });
      pending.add(p);
      void p.then(() => pending.delete(p));
    };
    const loadStart = Date.now();
    const total = opts.ratePerSecond * opts.durationS;
    const ticker = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - loadStart) / 1000) * opts.ratePerSecond));
      while (load.sent < due) fire();
    }, 5);

    // The rollout: from 15 % of the load on, one pod after the other.
    await sleep(opts.durationS * 150);
    const oldPods = [...pods];
    for (const [i, old] of oldPods.entries()) {
      const next = startPod(slots[opts.pods + i]!, opts);
      pods.push(next);
      await upIn(next.slot);
      log(`${next.slot.name} UP; SIGTERM ${old.slot.name}`);
      old.child.kill('SIGTERM');
    }
    await eventually('the load to end', opts.durationS * 1000 + 30_000, () => Promise.resolve(load.sent >= total ? true : undefined));
    clearInterval(ticker);
    const loadEnd = Date.now();
    await Promise.all(pending);
    agent.destroy();
    const exits = await Promise.all(oldPods.map((p) => p.exited));
    log(`load done: ${load.ok} ok, ${load.failed} failed; old pods exited ${exits.join(', ')}`);

    // The survivors: Prometheus has their final counts once a scrape after the load passed.
    const rangeS = Math.ceil((Date.now() - loadStart) / 1000) + 60;
    const query = async (q: string) => {
      const body = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
        status: string;
        error?: string;
        data: { result: { metric: Record<string, string>; values?: [number, string][] }[] };
      };
      if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
      return body.data.result;
    };
    const samples = async () => {
      // Raw samples of every series: the last is what was recorded, the first what rate() never counts.
      const series = await query(`${REQUESTS_COUNT_SERIES}{http_route="${ROUTE}"}[${rangeS}s]`);
      const byInstance = new Map<string, { recorded: number; firstSample: number }>();
      for (const s of series) {
        const slot = slots.find((x) => s.metric.instance === `127.0.0.1:${x.metricsPort}`);
        if (!slot || !s.values?.length) continue;
        const entry = byInstance.get(slot.name) ?? { recorded: 0, firstSample: 0 };
        entry.recorded += Number(s.values.at(-1)![1]);
        entry.firstSample += Number(s.values[0]![1]);
        byInstance.set(slot.name, entry);
      }
      return byInstance;
    };
    const survivors = pods.slice(opts.pods).map((p) => p.slot.name);
    await eventually('Prometheus has the survivors’ final counts', opts.scrapeIntervalS * 3000 + 10_000, async () => {
      const got = await samples();
      return survivors.every((name) => got.get(name)?.recorded === (load.byPod.get(name) ?? 0)) ? true : undefined;
    }, 500).catch(() => undefined);
    const recorded = await samples();

    const windowS = Math.max(3 * opts.scrapeIntervalS, 4);
    const start = loadStart / 1000 + windowS + opts.scrapeIntervalS;
    const end = loadEnd / 1000 - 1;
    // A load shorter than the rate window plus a scrape has no rate to compare.
    const range = start >= end ? { data: { result: [] as { values: [number, string][] }[] } } : (await (
      await fetch(
        `${promUrl}/api/v1/query_range?query=${encodeURIComponent(`sum(rate(${REQUESTS_COUNT_SERIES}{http_route="${ROUTE}"}[${windowS}s]))`)}&start=${start}&end=${end}&step=${Math.min(opts.scrapeIntervalS, 2)}`,
      )
    ).json()) as { data: { result: { values: [number, string][] }[] } };
    const rateSeries = (range.data.result[0]?.values ?? []).map(([t, v]) => [t, Number(v)] as [number, number]);
    const sorted = rateSeries.map(([, v]) => v).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const rateDip = median > 0 ? 1 - sorted[0]! / median : Number.NaN;

    const figures: PodFigures[] = pods.map((p) => {
      const r = recorded.get(p.slot.name) ?? { recorded: 0, firstSample: 0 };
      return {
        pod: p.slot.name,
        served: load.byPod.get(p.slot.name) ?? 0,
        recorded: r.recorded,
        firstSample: r.firstSample,
        ...(p.report && { shutdownMs: Math.round(p.report.totalMs), finalScrape: p.report.finalScrape }),
        ...(oldPods.includes(p) && { exitCode: p.child.exitCode }),
      };
    });
    return {
      sent: load.sent,
      ok: load.ok,
      failed: load.failed,
      failures: [...new Set(load.failures)].slice(0, 10),
      pods: figures,
      lost: figures.reduce((sum, f) => sum + Math.max(0, f.served - f.recorded), 0),
      firstSample: figures.reduce((sum, f) => sum + f.firstSample, 0),
      rateDip,
      rateSeries,
    };
  } finally {
    for (const p of pods) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const c of children) {
      if (c.exitCode === null) {
        const exited = once(c, 'exit');
        c.kill('SIGTERM');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** The figures as the report prints them. */
export function formatHaproxyRollout(result: HaproxyRolloutResult, scrapeIntervalS: number): string {
  return [
    `scrape every ${scrapeIntervalS} s: ${result.sent} sent, ${result.ok} ok, ${result.failed} failed${result.failures.length ? ` (${result.failures.join('; ')})` : ''}`,
    `lost counts ${result.lost}, first-sample counts ${result.firstSample}, sum(rate()) dip ${(result.rateDip * 100).toFixed(1)} %`,
    ...result.pods.map(
      (p) =>
        `  ${p.pod.padEnd(9)} served ${String(p.served).padStart(5)}  recorded ${String(p.recorded).padStart(5)}  first sample ${String(p.firstSample).padStart(4)}` +
        (p.shutdownMs === undefined ? '' : `  shutdown ${(p.shutdownMs / 1000).toFixed(1)} s, final scrape ${p.finalScrape}, exit ${String(p.exitCode)}`),
    ),
  ].join('\n');
}

/** A small SVG of sum(rate()) over the load. */
export function renderRateSvg(result: HaproxyRolloutResult, ratePerSecond: number): string {
  const w = 640;
  const h = 200;
  const pts = result.rateSeries;
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><text x="10" y="20">no rate samples</text></svg>\n`;
  const t0 = pts[0]![0];
  const t1 = pts.at(-1)![0];
  const max = Math.max(ratePerSecond * 1.2, ...pts.map(([, v]) => v));
  const x = (t: number) => 40 + ((t - t0) / Math.max(1, t1 - t0)) * (w - 60);
  const y = (v: number) => h - 30 - (v / max) * (h - 50);
  const line = pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`,
    `<line x1="40" y1="${y(ratePerSecond)}" x2="${w - 20}" y2="${y(ratePerSecond)}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<text x="${w - 20}" y="${y(ratePerSecond) - 4}" text-anchor="end" fill="#666">offered ${ratePerSecond} req/s</text>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${line}"/>`,
    `<text x="40" y="${h - 10}">sum(rate(${REQUESTS_COUNT_SERIES}[…])) over the rollout: dip ${(result.rateDip * 100).toFixed(1)} %</text>`,
    '</svg>',
    '',
  ].join('\n');
}
