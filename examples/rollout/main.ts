// `npm run rollout`: the continuity proof. Runs the demo as a node:cluster of
// two workers under steady keep-alive load with random incoming traceparents,
// replaces both workers one by one in the middle (as a Kubernetes rolling
// update does to pods), scrapes /metrics every second, collects every span
// over OTLP/HTTP, and fails unless nothing was lost.
//
//   npm run rollout -- --duration 20 --connections 20 --out .tmp/rollout
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import autocannon from 'autocannon';
import { setupTelemetry } from 'throughline';
import { createInventoryApp } from '../demo/inventory.js';
import { checkSpans, formatReport, verdict, type RolloutResult } from './checks.js';
import { freePort } from './free-port.js';
import { formatHaproxyRollout, renderRateSvg, runHaproxyRollout } from './haproxy-rollout.js';
import { startOtlpReceiver } from './otlp-receiver.js';
import type { WorkerMessage } from './protocol.js';
import { SPANS_PER_ORDER } from './spans.js';
import { renderTimelineHtml, renderTimelineSvg, type PhaseSpan, type SecondSample } from './timeline.js';


const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '20' },
    out: { type: 'string', default: '.tmp/rollout' },
    'drain-delay': { type: 'string', default: '1000' },
    // --haproxy: pods behind a real HAProxy, scraped by a real Prometheus (haproxy-rollout.ts).
    haproxy: { type: 'boolean', default: false },
    'scrape-interval': { type: 'string', default: '15s' },
    pods: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    // --hold-ready 0: readiness does not wait for the first scrape (to measure what holding contributes).
    'hold-ready': { type: 'string', default: '1' },
  },
});
if (args.haproxy) {
  const scrapeIntervalS = Number.parseFloat(args['scrape-interval']);
  const ratePerSecond = Number(args.rate);
  const result = await runHaproxyRollout({
    pods: Number(args.pods),
    ratePerSecond,
    durationS: Number(args.duration === '20' ? '45' : args.duration),
    scrapeIntervalS,
    holdReady: args['hold-ready'] !== '0',
    log: (line) => console.log(line),
  });
  console.log(formatHaproxyRollout(result, scrapeIntervalS));
  await mkdir(resolve(args.out), { recursive: true });
  const chart = join(resolve(args.out), `haproxy-rate-${scrapeIntervalS}s.svg`);
  await writeFile(chart, renderRateSvg(result, ratePerSecond));
  console.log(`rate chart: ${chart}`);
  process.exit(result.failed === 0 && result.lost === 0 && result.firstSample === 0 ? 0 : 1);
}
const durationMs = Number(args.duration) * 1000;
const connections = Number(args.connections);
const outDir = resolve(args.out);

interface Tracked {
  readonly label: string;
  readonly worker: Worker;
  readonly forkedAt: number;
  readonly lane: PhaseSpan[];
  phase: string;
  phaseSince: number;
  inFlight: number;
  ready: Promise<void>;
  exited: Promise<number | null>;
  exitMessage?: Extract<WorkerMessage, { kind: 'exit' }>;
}

const startedAt = Date.now();
const since = (at: number) => at - startedAt;
const receiver = await startOtlpReceiver();

// The downstream service is not rolled; it runs in the primary with its own telemetry.
const inventoryTelemetry = setupTelemetry({
  serviceName: 'inventory',
  traceExporter: new OTLPTraceExporter({ url: receiver.url }),
});
const inventory = await new Promise<Server>((done) => {
  const s = createInventoryApp().listen(0, '127.0.0.1', () => done(s));
});
const inventoryUrl = `http://127.0.0.1:${(inventory.address() as AddressInfo).port}`;

const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
cluster.setupPrimary({
  exec: fileURLToPath(new URL('./worker.ts', import.meta.url)),
  execArgv: ['--import', 'tsx'],
});

const workers: Tracked[] = [];
let workerCount = 0;

function fork(): Tracked {
  const worker = cluster.fork({
    ROLLOUT_PORT: String(port),
    ROLLOUT_INVENTORY_URL: inventoryUrl,
    ROLLOUT_OTLP_URL: receiver.url,
    ROLLOUT_DRAIN_DELAY_MS: args['drain-delay'],
  });
  const now = Date.now();
  let markReady = () => {};
  const tracked: Tracked = {
    label: `worker ${++workerCount}`,
    worker,
    forkedAt: now,
    lane: [],
    phase: 'starting',
    phaseSince: now,
    inFlight: 0,
    ready: new Promise<void>((done) => (markReady = done)),
    exited: new Promise((done) => worker.on('exit', (code) => done(code))),
  };
  const enter = (phase: string, at: number) => {
    tracked.lane.push({ phase: tracked.phase, from: since(tracked.phaseSince), to: since(at) });
    tracked.phase = phase;
    tracked.phaseSince = at;
  };
  worker.on('message', (message: WorkerMessage) => {
    if (message.kind === 'ready') {
      enter('running', Date.now());
      markReady();
    } else if (message.kind === 'phase') enter(message.phase, message.at);
    else if (message.kind === 'in-flight') {
      tracked.inFlight = message.count;
      sampleInFlight(message.at);
    } else tracked.exitMessage = message;
  });
  void tracked.exited.then(() => {
    enter('exited', Date.now());
    tracked.inFlight = 0;
  });
  workers.push(tracked);
  return tracked;
}

// Per-second load figures for the timeline.
const seconds: { succeeded: number; failed: number; inFlight: number }[] = [];
const second = (at: number) => {
  const index = Math.max(0, Math.floor(since(at) / 1000));
  while (seconds.length <= index) seconds.push({ succeeded: 0, failed: 0, inFlight: 0 });
  return seconds[index] as { succeeded: number; failed: number; inFlight: number };
};
function sampleInFlight(at: number): void {
  const total = workers.reduce((sum, w) => sum + w.inFlight, 0);
  const bucket = second(at);
  bucket.inFlight = Math.max(bucket.inFlight, total);
}

const initial = [fork(), fork()];
await Promise.all(initial.map((w) => w.ready));

// Every request carries its own incoming trace, so any span on another trace id is a break.
const incoming = new Map<string, string>();
const succeededTraces = new Set<string>();
let sent = 0;
const loadStartedAt = Date.now();
let loadDone: (result: autocannon.Result) => void = () => {};
let loadFailed: (error: unknown) => void = () => {};
const loadFinished = new Promise<autocannon.Result>((done, fail) => {
  loadDone = done;
  loadFailed = fail;
});
const load = autocannon({
  url: baseUrl,
  connections,
  duration: durationMs / 1000,
  requests: [
    {
      method: 'POST',
      path: '/orders',
      setupRequest: (request) => {
        const traceId = randomBytes(16).toString('hex');
        const spanId = randomBytes(8).toString('hex');
        incoming.set(traceId, spanId);
        sent++;
        return {
          ...request,
          headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${spanId}-01` },
          body: JSON.stringify({ sku: 'sku-1', quantity: 1 }),
        };
      },
      onResponse: (status, body) => {
        if (status === 201) succeededTraces.add((JSON.parse(body) as { traceId: string }).traceId);
      },
    },
  ],
}, (error: unknown, result) => (error ? loadFailed(error) : loadDone(result)));
load.on('response', (_client, statusCode) => {
  const bucket = second(Date.now());
  if (statusCode >= 200 && statusCode < 300) bucket.succeeded++;
  else bucket.failed++;
});
load.on('reqError', () => second(Date.now()).failed++);

// Prometheus's view of the roll: one scrape a second, through the same port as
// the load. A scrape passes when it answers 200 with throughline's lifecycle
// series, which every worker reports from its start; the HTTP histogram is no
// test, since a replacement scraped before its first request has none yet.
const scrapes = { attempted: 0, failed: 0, failures: [] as string[] };
const pendingScrapes = new Set<Promise<void>>();
function scrape(): Promise<void> {
  scrapes.attempted++;
  const at = Date.now();
  return new Promise<void>((settle) => {
    // Settles once: a broken response can report on both the response and the request.
    let settled = false;
    const done = (failure?: string) => {
      if (settled) return;
      settled = true;
      if (failure !== undefined) {
        scrapes.failed++;
        scrapes.failures.push(`at ${(since(at) / 1000).toFixed(1)} s: ${failure}`);
      }
      settle();
    };
    const req = get(`${baseUrl}/metrics`, { agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) done(`status ${String(res.statusCode)}: ${body.slice(0, 200)}`);
        else if (!body.includes('throughline_shutdown_phase')) done(`no throughline_shutdown_phase series in: ${body.slice(0, 200)}`);
        else done();
      });
      res.on('error', (error) => done(error.message));
    });
    req.on('timeout', () => req.destroy(new Error('scrape timed out after 2 s')));
    req.on('error', (error) => done(error.message));
  });
}
const scraper = setInterval(() => {
  const pending = scrape();
  pendingScrapes.add(pending);
  void pending.then(() => pendingScrapes.delete(pending));
}, 1000);

const restarts: RolloutResult['restarts'][number][] = [];
async function replace(old: Tracked): Promise<void> {
  const began = Date.now();
  const next = fork();
  await next.ready;
  const replacedInMs = Date.now() - began;
  const stopAt = Date.now();
  old.worker.process.kill('SIGTERM');
  const exitCode = await old.exited;
  restarts.push({ worker: old.label, replacedInMs, shutdownMs: Date.now() - stopAt, exitCode });
}

const rolling = (async () => {
  await new Promise((done) => setTimeout(done, durationMs * 0.3));
  for (const old of initial) await replace(old);
})();

const loadResult = await loadFinished;
await rolling;
clearInterval(scraper);
await Promise.all(pendingScrapes);
const loadDurationMs = Date.now() - loadStartedAt;

// Stop the survivors the same way, so their last spans and jobs are accounted for too.
const finalStops = workers.filter((w) => w.worker.isConnected() && !w.worker.isDead());
await Promise.all(
  finalStops.map(async (w) => {
    const stopAt = Date.now();
    w.worker.process.kill('SIGTERM');
    const exitCode = await w.exited;
    restarts.push({ worker: `${w.label} (final stop)`, shutdownMs: Date.now() - stopAt, exitCode });
  }),
);
await inventoryTelemetry.shutdown();
await new Promise<void>((done) => inventory.close(() => done()));
await receiver.close();

const jobs = { started: 0, completed: 0, failed: 0, abandoned: 0 };
for (const w of workers) {
  for (const key of Object.keys(jobs) as (keyof typeof jobs)[]) jobs[key] += w.exitMessage?.jobs[key] ?? 0;
}
const failed = loadResult.errors + loadResult.non2xx;
const answered = loadResult.requests.total + loadResult.errors;
const result: RolloutResult = {
  durationMs: loadDurationMs,
  requests: { sent, succeeded: succeededTraces.size, failed, cutAtEnd: Math.max(0, sent - answered) },
  // Each worker's shutdown span is a root of its own trace by design, not a break in a request's trace.
  spans: checkSpans(
    receiver.spans.filter((s) => s.name !== 'throughline.shutdown'),
    incoming,
    succeededTraces,
    SPANS_PER_ORDER,
  ),
  jobs,
  scrapes,
  restarts,
};
const problems = verdict(result);
const report = formatReport(result, problems);

const timeline = {
  title: `throughline rollout: ${workers.length} workers, ${connections} keep-alive connections`,
  durationMs: since(Date.now()),
  seconds: seconds.map((s, t): SecondSample => ({ t, ...s })),
  workers: workers.map((w) => ({ label: w.label, spans: w.lane })),
};
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'timeline.svg'), renderTimelineSvg(timeline));
await writeFile(join(outDir, 'report.html'), renderTimelineHtml(timeline, report));
await writeFile(join(outDir, 'result.json'), `${JSON.stringify({ result, problems, workers: workers.map((w) => ({ label: w.label, lane: w.lane, exit: w.exitMessage })) }, null, 2)}\n`);
process.stdout.write(`${report}\nreport: ${join(outDir, 'report.html')}\n`);
process.exitCode = problems.length === 0 ? 0 : 1;
