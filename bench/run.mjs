// npm run bench — throughput, p99 latency and RSS of throughline against bare
// node:http, bare Express and the alternatives. Each variant's server runs in a
// child process of its own; autocannon drives it from this process. Rounds are
// interleaved (round r runs every variant once, the order rotated by r) so a
// noisy minute hurts every variant alike, and each variant's throughput is
// divided by bare Express's *in the same round* before taking the median.
//
// Flags (or env): --duration=s (BENCH_DURATION), --rounds=n (BENCH_ROUNDS),
// --connections=n (BENCH_CONNECTIONS), --warmup=s, --only=a,b (variant names),
// --quick (smoke run: short, does not write docs), --out=path, --no-write,
// --profile=<variant> (CPU-profile that variant's process; prints top self time).
// Only a full, unprofiled run writes docs/benchmarks.md unless --out is given.
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VARIANTS } from './variants/index.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER = path.join(ROOT, 'bench', 'server.mjs');
const FINDINGS = path.join(ROOT, 'bench', 'findings.md');
const BASELINE = 'express';
const URL_PATH = '/users/42';

/** The issue's targets: throughput ratios, medians of per-round ratios. */
export const TARGETS = [
  { label: 'throughline, context only ≥ 0.95 × bare Express', variant: 'throughline-context', against: BASELINE, min: 0.95 },
  { label: 'throughline, spans + metrics ≥ 0.85 × bare Express', variant: 'throughline-metrics', against: BASELINE, min: 0.85 },
  { label: 'throughline, spans + metrics ≥ 1.5 × OTel auto-instrumentation', variant: 'throughline-metrics', against: 'otel-auto', min: 1.5 },
];

const DEFAULTS = { duration: 5, rounds: 5, connections: 10, warmup: 2 };
const QUICK = { duration: 1, rounds: 1, connections: 4, warmup: 0.5 };

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      profile: { type: 'string' },
    },
  });
  const base = values.quick ? QUICK : DEFAULTS;
  const num = (flag, env) => {
    const raw = values[flag] ?? process.env[env];
    if (raw === undefined) return base[flag];
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new TypeError(`Expected \`--${flag}\` to be a number > 0, got \`${raw}\``);
    return n;
  };
  const only = values.only?.split(',').map((s) => s.trim());
  const variants = only ? VARIANTS.filter((v) => only.includes(v.name) || v.name === BASELINE) : VARIANTS;
  const unknown = only?.filter((n) => !VARIANTS.some((v) => v.name === n)) ?? [];
  if (unknown.length > 0) throw new TypeError(`Unknown variant(s) in --only: ${unknown.join(', ')}`);
  if (values.profile !== undefined && !variants.some((v) => v.name === values.profile)) {
    throw new TypeError(`Unknown variant in --profile: ${values.profile}`);
  }
  return {
    duration: num('duration', 'BENCH_DURATION'),
    rounds: Math.round(num('rounds', 'BENCH_ROUNDS')),
    connections: Math.round(num('connections', 'BENCH_CONNECTIONS')),
    warmup: num('warmup', 'BENCH_WARMUP'),
    variants,
    // A partial or profiled run must not overwrite the full table in docs/; it
    // writes only where --out says.
    write: !values['no-write'] && !values.quick && (values.out !== undefined || (only === undefined && values.profile === undefined)),
    out: path.resolve(ROOT, values.out ?? 'docs/benchmarks.md'),
    profile: values.profile,
  };
}

async function startVariant(variant, profileDir) {
  const execArgv = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = fork(SERVER, [variant.name], { execPath: process.execPath, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${variant.name}: server exited with ${code} before listening`);
    }),
  ]);
  const ask = async () => {
    child.send('stats');
    for (;;) {
      const [reply] = await once(child, 'message');
      if (reply.stats) return reply.stats;
    }
  };
  return {
    variant,
    url: `http://127.0.0.1:${message.port}${URL_PATH}`,
    stats: ask,
    async stop() {
      const exited = once(child, 'exit');
      child.send('stop');
      await exited;
    },
  };
}

async function load(server, seconds, connections) {
  const before = await server.stats();
  const result = await autocannon({ url: server.url, duration: seconds, connections, pipelining: 1 });
  const after = await server.stats();
  return {
    rps: result['2xx'] / result.duration,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    // CPU the server process spent per answered request: far less sensitive
    // to a busy machine than throughput, and it is what a fleet pays for.
    cpuUs: (after.cpuUs - before.cpuUs) / Math.max(1, result['2xx']),
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarize(variants, rounds, rss, spans) {
  const rows = variants.map((v) => {
    const runs = rounds.map((round) => round[v.name]);
    return {
      name: v.name,
      label: v.label,
      rps: median(runs.map((r) => r.rps)),
      ratio: median(rounds.map((round) => round[v.name].rps / round[BASELINE].rps)),
      p99: median(runs.map((r) => r.p99)),
      cpuUs: median(runs.map((r) => r.cpuUs)),
      rssMb: rss[v.name] / 2 ** 20,
      failed: runs.reduce((n, r) => n + r.failed, 0),
      spans: spans[v.name],
    };
  });
  const targets = TARGETS.filter((t) => rows.some((r) => r.name === t.variant) && rows.some((r) => r.name === t.against)).map((t) => {
    const value = median(rounds.map((round) => round[t.variant].rps / round[t.against].rps));
    return { ...t, value, met: value >= t.min };
  });
  return { rows, targets };
}

function table(rows) {
  const head = ['Variant', 'req/s (median)', '× bare Express', 'p99 ms', 'server CPU µs/req', 'RSS after load (MB)', 'failed'];
  const body = rows.map((r) => [
    r.label,
    Math.round(r.rps).toLocaleString('en-US'),
    r.ratio.toFixed(2),
    String(r.p99),
    r.cpuUs.toFixed(0),
    r.rssMb.toFixed(0),
    String(r.failed),
  ]);
  return [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map((cells) => `| ${cells.join(' | ')} |`)].join('\n');
}

function targetLines(targets) {
  if (targets.length === 0) return '- (this run left out the variants the targets compare)';
  return targets.map((t) => `- ${t.met ? '**met**' : '**not met**'}: ${t.label} — measured ${t.value.toFixed(2)}`).join('\n');
}

function versions() {
  const names = [
    'express',
    '@opentelemetry/api',
    '@opentelemetry/sdk-trace',
    '@opentelemetry/sdk-metrics',
    '@opentelemetry/exporter-prometheus',
    '@opentelemetry/instrumentation-http',
    '@opentelemetry/instrumentation-express',
    'cls-rtracer',
    'express-http-context',
    'autocannon',
  ];
  // Read the manifests from disk: some packages do not export ./package.json.
  const version = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  return [`throughline ${version(ROOT)} (this checkout, dist/)`, ...names.map((n) => `${n} ${version(path.join(ROOT, 'node_modules', n))}`)];
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: `${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length} (${os.availableParallelism()} available)`,
    ram: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

function markdown({ opts, rows, targets, rounds, started, loadBefore, loadAfter }) {
  const m = machine();
  const order = opts.variants.map((v) => v.name);
  const perRound = [
    `| Variant | ${rounds.map((_, i) => `round ${i + 1}`).join(' | ')} |`,
    `| --- |${rounds.map(() => ' ---: ').join('|')}|`,
    ...order.map((n) => `| ${n} | ${rounds.map((r) => Math.round(r[n].rps).toLocaleString('en-US')).join(' | ')} |`),
  ].join('\n');
  return `# Benchmarks

What throughline costs per request, next to bare \`node:http\`, bare Express and the
alternatives. Generated by \`npm run bench\` (bench/run.mjs) — do not edit by hand; rerun it.

## Result

${table(rows)}

Targets (median of the per-round ratios):

${targetLines(targets)}

Run on ${started.toISOString()}. Load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after:
on a busy machine the absolute numbers move, the within-round ratios much less.

## Machine and versions

- CPU: ${m.cpu}
- RAM: ${m.ram}
- OS: ${m.os}
- Node.js: ${m.node}
${versions().map((v) => `- ${v}`).join('\n')}

## Method

- Every variant answers \`GET ${URL_PATH}\` with the same small JSON body and reads its
  request or trace id inside the handler, so the context libraries are exercised, not
  just installed.
- Variants:
  - **bare node:http** — a \`createServer\` handler, no framework: the ceiling.
  - **bare Express 5** — the baseline every ratio is taken against.
  - **throughline, context only** — \`traceContext()\` with no tracer or meter provider
    (API only): W3C extraction, request id, AsyncLocalStorage binding, minted trace ids.
  - **throughline, spans** — plus a real \`TracerProvider\` (\`@opentelemetry/sdk-trace\`)
    with a \`BatchSpanProcessor\` over an exporter that only counts spans.
  - **throughline, spans + metrics** — plus a global \`MeterProvider\`
    (\`@opentelemetry/sdk-metrics\`) read by the \`PrometheusExporter\`, served on \`/metrics\`.
  - **OTel auto-instrumentation** — \`@opentelemetry/instrumentation-http\` +
    \`@opentelemetry/instrumentation-express\`, the same provider, processor and exporter,
    the AsyncLocalStorage context manager. No meter provider, which favours it.
  - **cls-rtracer** — \`expressMiddleware()\`, \`rTracer.id()\` in the handler.
  - **express-http-context** — its middleware plus one that sets a \`randomUUID()\`.
- Each variant's server runs in its own Node.js process (forked with this Node.js), so
  module state, global providers, RSS and CPU profiles are its own. The load generator
  (autocannon, programmatic) runs in the parent process, on 127.0.0.1, keep-alive,
  ${opts.connections} connections, no pipelining.
- Each variant is warmed up for ${opts.warmup} s, then ${opts.rounds} rounds of ${opts.duration} s each. Round *r*
  runs every variant once, the order rotated by *r*. Throughput is 2xx responses per
  second; "× bare Express" is the median over rounds of the variant's throughput divided by
  bare Express's in the same round. p99 is the median of the rounds' p99 latencies.
  Server CPU µs/req is the server process's user + system CPU time (\`process.cpuUsage()\`)
  during a round divided by the 2xx responses of that round, median over rounds: it
  moves much less than throughput when something else competes for the cores.
  RSS is the server process's resident set size after its last round.
- Requests carry no \`traceparent\`, so every request starts a new trace (the id
  generation path); extraction still runs on every request.

Throughput per round (req/s):

${perRound}

${existsSync(FINDINGS) ? `${readFileSync(FINDINGS, 'utf8').trim()}\n\n` : ''}Rerun: \`npm run bench\` (about ${Math.ceil((opts.variants.length * (opts.warmup + opts.rounds * opts.duration)) / 60 + 0.5)} min). Flags: \`--duration=s --rounds=n --connections=n --warmup=s\`,
\`--only=a,b\`, \`--quick\` (smoke run, writes nothing), \`--profile=<variant>\` (CPU-profiles that
variant's process and prints where the time goes). Runs with \`--only\` or \`--profile\` write only to \`--out=path\`.
`;
}

function summarizeProfile(file, top = 20) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const self = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const f = node.callFrame;
    const file = f.url.startsWith('file:') ? path.relative(ROOT, fileURLToPath(f.url)) : f.url;
    const where = file ? `${file}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
    total += node.hitCount ?? 0;
  }
  const lines = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`\nCPU profile ${file}: ${total} samples, ~${(interval / 1000).toFixed(2)} ms each. Top self time:`);
  for (const [key, hits] of lines) console.log(`  ${((100 * hits) / total).toFixed(1).padStart(5)}%  ${key}`);
}

async function main() {
  const opts = options();
  const started = new Date();
  const loadBefore = os.loadavg()[0];
  const profileDir = opts.profile ? mkdtempSync(path.join(os.tmpdir(), 'throughline-prof-')) : undefined;
  console.log(
    `throughline bench: ${opts.variants.length} variants, ${opts.rounds} round(s) × ${opts.duration} s, ${opts.connections} connections, warmup ${opts.warmup} s, Node.js ${process.version}`,
  );
  const servers = [];
  try {
    for (const v of opts.variants) servers.push(await startVariant(v, v.name === opts.profile ? profileDir : undefined));
    for (const s of servers) await load(s, opts.warmup, opts.connections);
    const rounds = [];
    for (let r = 0; r < opts.rounds; r++) {
      const round = {};
      const order = servers.map((_, i) => servers[(i + r) % servers.length]);
      for (const s of order) round[s.variant.name] = await load(s, opts.duration, opts.connections);
      rounds.push(round);
      console.log(
        `round ${r + 1}/${opts.rounds}: ${order.map((s) => `${s.variant.name} ${Math.round(round[s.variant.name].rps)}`).join(', ')}`,
      );
    }
    const rss = {};
    const spans = {};
    for (const s of servers) {
      const stats = await s.stats();
      rss[s.variant.name] = stats.rss;
      spans[s.variant.name] = stats.spans;
    }
    const { rows, targets } = summarize(opts.variants, rounds, rss, spans);
    console.log(`\n${table(rows)}\n\n${targetLines(targets)}\n`);
    for (const r of rows) if (r.spans !== undefined) console.log(`  ${r.name}: ${r.spans.toLocaleString('en-US')} spans exported`);
    // Rendered on every run, --quick included, so a smoke run exercises it too.
    const doc = markdown({ opts, rows, targets, rounds, started, loadBefore, loadAfter: os.loadavg()[0] });
    if (opts.write) {
      writeFileSync(opts.out, doc);
      console.log(`wrote ${path.relative(ROOT, opts.out)}`);
    }
    if (rows.some((r) => r.failed > 0)) process.exitCode = 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  if (profileDir) for (const f of readdirSync(profileDir)) summarizeProfile(path.join(profileDir, f));
}

await main();
