// npm run bench — server CPU per request (the headline), bytes allocated per
// request, throughput, p99 latency and RSS of throughline against bare
// node:http, bare Express, hand-written floors and the alternatives. Each
// variant's server runs in a child process of its own, pinned to core 0 with
// taskset; autocannon drives it from this process, pinned to core 1. Rounds are
// interleaved (round r runs every variant once, the order rotated by r) so a
// noisy minute hurts every variant alike, and each variant's cost is compared
// with bare Express's (or its floor's) *in the same round* before taking the
// median. A variant's round is repeated (up to --retries times) when another
// process took more than --noise of a core during it (from /proc/stat); every
// run records the load it saw. Every target is judged from paired short
// slices of the variant and its reference (paired()), and the scrape
// comparison (bench/scrape.mjs) runs last.
//
// Flags (or env): --duration=s (BENCH_DURATION), --rounds=n (BENCH_ROUNDS),
// --connections=n (BENCH_CONNECTIONS), --warmup=s, --only=a,b (variant names),
// --quick (smoke run: short, does not write docs), --out=path, --no-write,
// --profile=<variant> (CPU-profile that variant's process every 100 µs; prints its
// time by owner and by function, bench/profile.mjs),
// --no-pin (no taskset), --noise=cores (default 0.15), --retries=n (default 2),
// --pairs=n (default 30), --pair-seconds=s (default 1), --pair-blocks=n (fresh
// server processes per target, default 6), --no-scrape,
// --pair=a:b (also measure a − b in paired slices and print it; repeatable),
// --traceparent (every other request carries a valid traceparent, as calls
// between services do; off by default, so the figures compare with earlier runs'),
// --node-arg=<flag> (a node or V8 flag for every variant's server, repeatable:
// `--node-arg=--min-semi-space-size=16 --node-arg=--max-semi-space-size=16` fixes
// the young generation's size, which NODE_OPTIONS cannot; bench/findings.md, 2026-12-04).
// Only a full, unprofiled run without --node-arg writes docs/benchmarks.md unless --out is given.
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HALF_TRACED, startServer, URL_PATH } from './server-client.mjs';
import { profileTime } from './profile.mjs';
import { decide, leastNoisy, signed } from './rounds.mjs';
import { median, medianInterval } from './stats.mjs';
import { DEFAULT_VARIANTS, VARIANTS } from './variants/index.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FINDINGS = path.join(ROOT, 'bench', 'findings.md');
const BASELINE = 'express';

/**
 * The targets, in server CPU µs per request over a reference measured in the
 * same round (median over rounds of the per-round difference), and RSS after
 * load against the floor's.
 */
export const TARGETS = [
  { label: 'throughline, context only ≤ bare Express 5 + 4 µs', variant: 'throughline-context', against: BASELINE, kind: 'cpu', max: 4 },
  { label: 'throughline, spans + metrics ≤ its floor + 2 µs', variant: 'throughline-metrics', against: 'floor-spans', kind: 'cpu', max: 2 },
  { label: 'throughline, context only: RSS ≤ 1.2 × its floor', variant: 'throughline-context', against: 'floor-context', kind: 'rss', max: 1.2 },
  { label: 'throughline, spans + metrics: RSS ≤ 1.2 × its floor', variant: 'throughline-metrics', against: 'floor-spans', kind: 'rss', max: 1.2 },
  { label: 'throughline, spans + metrics ≥ 1.5 × OTel auto-instrumentation (throughput)', variant: 'throughline-metrics', against: 'otel-auto', kind: 'rps', min: 1.5 },
  { label: 'Express 4: throughline, context only ≤ bare Express 4 + 4 µs', variant: 'throughline-context-e4', against: 'express4', kind: 'cpu', max: 4 },
  { label: 'Express 4: throughline, spans + metrics ≤ its floor + 2 µs', variant: 'throughline-metrics-e4', against: 'floor-spans-e4', kind: 'cpu', max: 2 },
  { label: 'Express 4: throughline, context only: RSS ≤ 1.2 × its floor', variant: 'throughline-context-e4', against: 'floor-context-e4', kind: 'rss', max: 1.2 },
  { label: 'Express 4: throughline, spans + metrics: RSS ≤ 1.2 × its floor', variant: 'throughline-metrics-e4', against: 'floor-spans-e4', kind: 'rss', max: 1.2 },
];

/** The bare Express a variant is compared with: the same major. */
const baselineOf = (variant) => (variant.express === 4 ? 'express4' : BASELINE);

const DEFAULTS = { duration: 5, rounds: 5, connections: 10, warmup: 2, pairs: 30, 'pair-seconds': 1, 'pair-blocks': 6 };
const QUICK = { duration: 1, rounds: 1, connections: 4, warmup: 0.5, pairs: 2, 'pair-seconds': 0.5, 'pair-blocks': 1 };

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
      'no-pin': { type: 'boolean', default: false },
      noise: { type: 'string' },
      retries: { type: 'string' },
      'no-scrape': { type: 'boolean', default: false },
      pairs: { type: 'string' },
      'pair-seconds': { type: 'string' },
      'pair-blocks': { type: 'string' },
      pair: { type: 'string', multiple: true },
      traceparent: { type: 'boolean', default: false },
      'node-arg': { type: 'string', multiple: true, default: [] },
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
  const wanted = only && VARIANTS.filter((v) => only.includes(v.name));
  const variants = wanted ? VARIANTS.filter((v) => v.name === BASELINE || wanted.some((w) => w.name === v.name || baselineOf(w) === v.name)) : DEFAULT_VARIANTS;
  const unknown = only?.filter((n) => !VARIANTS.some((v) => v.name === n)) ?? [];
  if (unknown.length > 0) throw new TypeError(`Unknown variant(s) in --only: ${unknown.join(', ')}`);
  const extraPairs = (values.pair ?? []).map((p) => p.split(':'));
  for (const pair of extraPairs) {
    if (pair.length !== 2 || pair.some((n) => !variants.some((v) => v.name === n))) {
      throw new TypeError(`Expected \`--pair\` to be <variant>:<variant> of the variants this run starts, got \`${pair.join(':')}\``);
    }
  }
  if (values.profile !== undefined && !variants.some((v) => v.name === values.profile)) {
    throw new TypeError(`Unknown variant in --profile: ${values.profile}`);
  }
  return {
    duration: num('duration', 'BENCH_DURATION'),
    rounds: Math.round(num('rounds', 'BENCH_ROUNDS')),
    connections: Math.round(num('connections', 'BENCH_CONNECTIONS')),
    warmup: num('warmup', 'BENCH_WARMUP'),
    pairs: Math.round(num('pairs', 'BENCH_PAIRS')),
    pairSeconds: num('pair-seconds', 'BENCH_PAIR_SECONDS'),
    pairBlocks: Math.round(num('pair-blocks', 'BENCH_PAIR_BLOCKS')),
    extraPairs,
    variants,
    traceparent: values.traceparent,
    // A partial or profiled run must not overwrite the full table in docs/; it
    // writes only where --out says.
    write: !values['no-write'] && !values.quick && (values.out !== undefined || (only === undefined && values.profile === undefined && values['node-arg'].length === 0)),
    nodeArgs: values['node-arg'],
    out: path.resolve(ROOT, values.out ?? 'docs/benchmarks.md'),
    profile: values.profile,
    pin: !values['no-pin'] && os.availableParallelism() >= 2 && hasTaskset(),
    noise: values.noise === undefined ? 0.15 : positive('noise', values.noise),
    // The scrape comparison takes about a minute: a partial or smoke run leaves it out.
    scrape: !values['no-scrape'] && !values.quick && only === undefined && values.profile === undefined,
    retries: values.retries === undefined ? (values.quick ? 0 : 2) : Math.round(positive('retries', values.retries, true)),
  };
}

function positive(flag, raw, zero = false) {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!zero && n === 0)) throw new TypeError(`Expected \`--${flag}\` to be a number ${zero ? '>=' : '>'} 0, got \`${raw}\``);
  return n;
}

function hasTaskset() {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// /proc/stat's first line, in µs of CPU time: busy is user + nice + system +
// steal (a hypervisor's steal is noise too). Interrupt time is left out: the
// loopback traffic of the bench itself lands there.
const CLK_TCK = 100;
function machineCpuUs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    return ((f[0] + f[1] + f[2] + (f[7] ?? 0)) * 1e6) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function loadavg1() {
  return os.loadavg()[0];
}

async function startVariant(variant, profileDir, { pin, nodeArgs }) {
  // Sampled every 100 µs, not V8's 1 ms: a few µs of a 50 µs request need the samples.
  const profiling = profileDir ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profileDir}`] : [];
  return { variant, ...(await startServer(variant.name, { pin, nodeArgs: [...nodeArgs, ...profiling] })) };
}

async function load(server, seconds, { connections, traceparent }) {
  const before = await server.stats();
  const machineBefore = machineCpuUs();
  const selfBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const result = await autocannon({ url: server.url, duration: seconds, connections, pipelining: 1, ...(traceparent ? { requests: HALF_TRACED } : {}) });
  const wallUs = (performance.now() - wallBefore) * 1000;
  const self = process.cpuUsage(selfBefore);
  const machineAfter = machineCpuUs();
  const after = await server.stats();
  const ok = Math.max(1, result['2xx']);
  const serverUs = after.cpuUs - before.cpuUs;
  // Cores' worth of CPU that neither the server nor this process (autocannon) used.
  const other =
    machineBefore === undefined || machineAfter === undefined
      ? undefined
      : Math.max(0, machineAfter - machineBefore - serverUs - self.user - self.system) / wallUs;
  return {
    rps: result['2xx'] / result.duration,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    // CPU the server process spent per answered request: far less sensitive
    // to a busy machine than throughput, and it is what a fleet pays for.
    cpuUs: serverUs / ok,
    // The kernel's share of it: the socket writes and reads, page faults.
    systemUs: (after.systemUs - before.systemUs) / ok,
    bytes: (after.allocatedBytes - before.allocatedBytes) / ok,
    other,
    load: loadavg1(),
  };
}

/** One round of one variant, repeated while another process took more than `noise` cores. */
async function measure(server, opts) {
  const { best, attempts } = await leastNoisy(() => load(server, opts.duration, opts), opts);
  return { ...best, attempts };
}

/**
 * A CPU target's own measurement: the variant and its reference alternate in
 * short slices (A B, then B A, …), and each pair's difference is taken. On
 * this VM the neighbours move server CPU by ±30 % over tens of seconds
 * (2026-12-02: bare Express 47.7–68.6 µs in one run with no other process
 * here), while the 5 s rounds of the table put up to a minute between a
 * variant and its reference; two slices of a second apiece see the same
 * neighbours. A pair in which another process here took more than --noise of
 * a core is measured again (up to --retries times).
 *
 * The pairs come in --pair-blocks blocks, each on a fresh pair of server
 * processes warmed up for --warmup s: a process has a cost of its own (how V8
 * compiled its hot code, where its heap landed). The same build measured
 * -0.3 µs (interval -2.1 to +0.9) and +4.3 µs (+2.2 to +5.6) over bare Express
 * in two runs of one process each, an hour apart: pairs within one process
 * cannot see that, so the verdict is taken over the blocks' medians.
 */
async function paired(candidate, reference, opts) {
  const diffs = [];
  const blocks = [];
  // Each block's candidate RSS over its reference's, read after the block's
  // pairs: the RSS targets are judged from these (see summarize()). And each
  // block's median of its pairs' throughput ratios, for the throughput target.
  const rssRatios = [];
  const rpsRatios = [];
  let noisy = 0;
  const perBlock = Math.max(1, Math.round(opts.pairs / opts.pairBlocks));
  for (let block = 0; block < opts.pairBlocks; block++) {
    const c = await startVariant(candidate, undefined, opts);
    const r = await startVariant(reference, undefined, opts);
    try {
      await load(c, opts.warmup, opts);
      await load(r, opts.warmup, opts);
      const inBlock = [];
      const rpsInBlock = [];
      for (let i = 0; i < perBlock; i++) {
        const { best } = await leastNoisy(async () => {
          const [first, second] = i % 2 === 0 ? [c, r] : [r, c];
          const a = await load(first, opts.pairSeconds, opts);
          const b = await load(second, opts.pairSeconds, opts);
          const [ca, ra] = first === c ? [a, b] : [b, a];
          return { diff: ca.cpuUs - ra.cpuUs, rps: ca.rps / ra.rps, other: Math.max(ca.other ?? 0, ra.other ?? 0) };
        }, opts);
        inBlock.push(best.diff);
        rpsInBlock.push(best.rps);
        if (best.other > opts.noise) noisy++;
      }
      diffs.push(...inBlock);
      blocks.push(median(inBlock));
      rpsRatios.push(median(rpsInBlock));
      const [cs, rs] = await Promise.all([c.stats(), r.stats()]);
      rssRatios.push(cs.rss / rs.rss);
    } finally {
      await Promise.all([c.stop(), r.stop()]);
    }
  }
  return { diffs, blocks, noisy, rssRatios, rpsRatios };
}

/** The key of a paired measurement: the same pair serves a CPU and an RSS target. */
const pairKey = (variant, against) => `${variant}:${against}`;

function summarize(variants, rounds, end, pairs) {
  const rows = variants.map((v) => {
    const runs = rounds.map((round) => round[v.name]);
    const cpu = runs.map((r) => r.cpuUs);
    return {
      name: v.name,
      label: v.label,
      rps: median(runs.map((r) => r.rps)),
      ratio: median(rounds.map((round) => round[v.name].rps / round[baselineOf(v)].rps)),
      p99: median(runs.map((r) => r.p99)),
      cpuUs: median(cpu),
      cpuMin: Math.min(...cpu),
      cpuMax: Math.max(...cpu),
      systemUs: median(runs.map((r) => r.systemUs)),
      baseline: baselineOf(v),
      // Per-round difference from bare Express (the same major) in the same round, median over rounds.
      overUs: median(rounds.map((round) => round[v.name].cpuUs - round[baselineOf(v)].cpuUs)),
      bytes: median(runs.map((r) => r.bytes)),
      rssMb: end[v.name].rss / 2 ** 20,
      failed: runs.reduce((n, r) => n + r.failed, 0),
      spans: end[v.name].spans,
    };
  });
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  // Every target has its paired measurement (main() runs one per target).
  const targets = TARGETS.filter((t) => byName[t.variant] && byName[t.against]).map((t) => {
    const pair = pairs[pairKey(t.variant, t.against)];
    if (t.kind === 'rss') return judgeRatio(t, pair, pair.rssRatios, 'fresh pairs of processes');
    if (t.kind === 'rps') return judgeRatio(t, pair, pair.rpsRatios, 'blocks of paired slices, each block on fresh processes');
    return judgePaired(t, pair);
  });
  return { rows, targets };

  // Met when the whole 95 % interval of the block medians' median is within
  // the limit, not met when it is wholly past it; otherwise the run cannot
  // tell, and says so.
  function judgePaired(t, pair) {
    const { diffs, blocks } = pair;
    const { value, interval, text } = pairedSummary(pair);
    const shown = `${text}, from ${blocks.length} blocks of ${diffs.length / blocks.length} pairs of slices, each block on fresh processes (block medians ${blocks.map(signed).join(', ')}; the table's rounds: ${judgeOne(t).shown})`;
    return decide({ ...t, value, interval, shown, paired: diffs, blocks }, pair);
  }

  // A ratio target from the paired blocks, one ratio a block, judged like the
  // CPU targets: RSS (each block's fresh pair of processes, read after its
  // pairs) against a maximum, throughput (each block's median of its pairs'
  // ratios) against a minimum. One process per variant is not enough for RSS:
  // V8 sizes each process's young generation from what it has seen and keeps
  // it, and the single-process ratio of one build moved from 0.82 to 1.71 ×
  // between runs (bench/findings.md, 2026-12-02, night). Nor are the rounds
  // for throughput: they put up to a minute between the two, and the ratio of
  // one run's rounds went from 0.94 to 2.08 ×.
  function judgeRatio(t, pair, ratios, from) {
    const value = median(ratios);
    const interval = medianInterval(ratios);
    const shown = `${value.toFixed(2)} ×, 95 % interval ${interval ? `${interval[0].toFixed(2)} to ${interval[1].toFixed(2)} ×` : 'n/a'}, from ${ratios.length} ${from} (${ratios.map((r) => r.toFixed(2)).join(', ')}; the table's ${t.kind === 'rss' ? 'processes' : 'rounds'}: ${judgeOne(t).shown})`;
    // Throughput, like CPU, is what other processes move; RSS is not.
    return decide({ ...t, value, interval, shown, ratioBlocks: ratios }, t.kind === 'rps' ? pair : undefined);
  }

  function judgeOne(t) {
    if (t.kind === 'cpu') {
      const perRound = rounds.map((round) => round[t.variant].cpuUs - round[t.against].cpuUs);
      const value = median(perRound);
      const range = `${signed(Math.min(...perRound))} to ${signed(Math.max(...perRound))} µs`;
      return { ...t, value, perRound, range, shown: `${signed(value)} µs (rounds ${range})`, met: value <= t.max };
    }
    if (t.kind === 'rss') {
      const value = byName[t.variant].rssMb / byName[t.against].rssMb;
      return { ...t, value, shown: `${value.toFixed(2)} ×`, met: value <= t.max };
    }
    const perRound = rounds.map((round) => round[t.variant].rps / round[t.against].rps);
    const value = median(perRound);
    const range = `${Math.min(...perRound).toFixed(2)} to ${Math.max(...perRound).toFixed(2)} ×`;
    return { ...t, value, perRound, range, shown: `${value.toFixed(2)} × (rounds ${range})`, met: value >= t.min };
  }
}

// The scrape comparison (bench/scrape.mjs) in a process of its own, pinned
// like a server: 2,000 histogram series served by throughline's serializer,
// the OpenTelemetry exporter, prom-client 15 and @prometheus-io/client.
function scrapeBench(pin) {
  const script = path.join(ROOT, 'bench', 'scrape.mjs');
  const [file, args] = pin ? ['taskset', ['-c', '0', process.execPath, script, '--json']] : [process.execPath, [script, '--json']];
  const out = execFileSync(file, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const result = JSON.parse(out.trim().split('\n').at(-1));
  const by = Object.fromEntries(result.figures.map((f) => [f.name, f]));
  const ours = by.throughline;
  const base = by['prom-client'];
  const targets = [
    ['in process (collect + serialize)', 'inProcessMs'],
    ['over HTTP', 'httpMs'],
  ].map(([how, key]) => {
    const value = ours[key] / base[key];
    return {
      label: `scrape of ${ours.series.toLocaleString('en-US')} series ${how} no slower than prom-client 15`,
      shown: `${ours[key].toFixed(1)} ms against ${base[key].toFixed(1)} ms (${value.toFixed(2)} ×)`,
      met: ours.series === base.series && value <= 1,
    };
  });
  return { ...result, targets };
}

/** A paired measurement's figure: the median of its block medians and their 95 % interval. */
function pairedSummary({ blocks }) {
  const value = median(blocks);
  const interval = medianInterval(blocks);
  return { value, interval, text: `${signed(value)} µs, 95 % interval ${interval ? `${signed(interval[0])} to ${signed(interval[1])}` : 'n/a'} µs` };
}

function printPair(a, b, pair) {
  console.log(
    `paired ${a} − ${b}: ${pairedSummary(pair).text}; blocks ${pair.blocks.map(signed).join(', ')}; pairs ${pair.diffs.map((d) => d.toFixed(1)).join(', ')}; RSS ratios ${pair.rssRatios.map((r) => r.toFixed(2)).join(', ')}; throughput ratios ${pair.rpsRatios.map((r) => r.toFixed(2)).join(', ')}`,
  );
}

function markdownTable(head, body) {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map((cells) => `| ${cells.join(' | ')} |`)].join('\n');
}

function table(rows) {
  const head = ['Variant', 'server CPU µs/req (median)', 'min–max', 'of which kernel', 'over bare Express (same major)', 'KB allocated/req', 'RSS after load (MB)', 'req/s (median)', '× bare Express', 'p99 ms', 'failed'];
  return markdownTable(
    head,
    rows.map((r) => [
      r.label,
      r.cpuUs.toFixed(1),
      `${r.cpuMin.toFixed(1)}–${r.cpuMax.toFixed(1)}`,
      r.systemUs.toFixed(1),
      r.name === r.baseline ? '—' : signed(r.overUs),
      (r.bytes / 1024).toFixed(1),
      r.rssMb.toFixed(0),
      Math.round(r.rps).toLocaleString('en-US'),
      r.ratio.toFixed(2),
      String(r.p99),
      String(r.failed),
    ]),
  );
}

function targetLines(targets) {
  if (targets.length === 0) return '- (this run left out the variants the targets compare)';
  const verdict = (t) => (t.met === undefined ? `**not judged** (${t.noisy})` : t.met ? '**met**' : '**not met**');
  return targets.map((t) => `- ${verdict(t)}: ${t.label} — measured ${t.shown}`).join('\n');
}

function noiseTable(opts, rounds) {
  const order = opts.variants.map((v) => v.name);
  const cell = (r) => `${r.cpuUs.toFixed(1)} µs, other ${r.other === undefined ? '?' : r.other.toFixed(2)}, load ${r.load.toFixed(2)}${r.attempts > 1 ? `, ${r.attempts} tries` : ''}`;
  return markdownTable(
    ['Variant', ...rounds.map((_, i) => `round ${i + 1}`)],
    order.map((n) => [n, ...rounds.map((round) => cell(round[n]))]),
  );
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
    'express4',
    'prom-client',
    '@prometheus-io/client',
    'cls-rtracer',
    'express-http-context',
    '@opentelemetry/context-async-hooks',
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

function markdown({ opts, rows, targets, scrape, rounds, started, loadBefore, loadAfter, m }) {
  const retried = rounds.reduce((n, round) => n + Object.values(round).filter((r) => r.attempts > 1).length, 0);
  const noisy = rounds.reduce((n, round) => n + Object.values(round).filter((r) => (r.other ?? 0) > opts.noise).length, 0);
  return `# Benchmarks

What throughline costs per request, next to bare \`node:http\`, bare Express, hand-written
floors that do the same work with nothing else, and the alternatives. Generated by
\`npm run bench\` (bench/run.mjs) — do not edit by hand; rerun it.

## Result

Server CPU per request is the headline: what a fleet pays for, and far steadier than
throughput on a shared machine.

${table(rows)}

Targets (server CPU: median of the paired differences from the reference, with its 95 % interval; see Method):

${targetLines(targets)}

Run on ${started.toISOString()}, ${opts.pin ? 'server pinned to core 0 and load generator to core 1 (taskset)' : 'not pinned'}. Load average (1 min)
${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after. ${retried} of ${rounds.length * opts.variants.length} variant-rounds were repeated because another
process used more than ${opts.noise} of a core; ${noisy} stayed above that after ${opts.retries + 1} tries (the quietest try is kept).

## Scrape

\`bench/scrape.mjs\`, run by \`npm run bench\` in a process of its own${opts.pin ? ' pinned to core 0' : ''}: the same
histogram series recorded in each library, then scraped over HTTP on 127.0.0.1 and
collected + serialized in process. throughline serves the SDK reader's \`collect()\` result
through its own Prometheus text serializer (src/telemetry/prometheus-text.ts); its output
is checked against the exporter's and with promtool by the test suite. ${scrape.header}.

${markdownTable(scrape.rows[0], scrape.rows.slice(1))}

${targetLines(scrape.targets)}

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
  - **bare Express 5** — the baseline.
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
  - **floor: context only** (bench/variants/floors/context.mjs) — a hand-written middleware:
    an OTel context through the registered AsyncLocalStorage context manager, a one-regex
    traceparent check, pooled ids, a request id echoed with \`setHeader\`, \`req\`/\`res\`
    \`emit()\` run in the request's context. Nothing configurable, no baggage.
  - **floor: same SDK span + histogram** (bench/variants/floors/spans.mjs) — a hand-written
    middleware that starts the same SERVER span with the same eight start attributes, sets
    route and status and ends it on \`finish\`, and records the same
    \`http.server.request.duration\` histogram, on the same SDK objects as
    "spans + metrics", plus the context floor's request id and \`emit()\` binding (which
    \`traceContext()\` does in every mode). No baggage, no error hooks, no active-requests count.
  - **Express 4** — bare Express 4, throughline context only and spans + metrics, and both
    floors again, on Express 4 (\`express4\`, an npm alias of express@4); each is compared
    with bare Express 4 or its Express 4 floor, and the targets are judged for both majors.
- Each variant's server runs in its own Node.js process (forked with this Node.js), so
  module state, global providers, RSS and CPU profiles are its own. The load generator
  (autocannon, programmatic) runs in the parent process, on 127.0.0.1, keep-alive,
  ${opts.connections} connections, no pipelining.
- Each variant is warmed up for ${opts.warmup} s, then ${opts.rounds} rounds of ${opts.duration} s each. Round *r*
  runs every variant once, the order rotated by *r*.
- **Server CPU µs/req** is the server process's user + system CPU time (\`process.cpuUsage()\`)
  during a round divided by the 2xx responses of that round; min, median and max over rounds.
  "Of which kernel" is the system part (median over rounds).
  "Over bare Express" is the median over rounds of the difference from bare Express of the
  same major in the same round.
- **CPU targets** are judged from paired slices, not from the rounds: after the rounds, each
  target's variant and its reference run alternately in ${opts.pairs} pairs of ${opts.pairSeconds} s slices (which
  goes first alternates), and each pair gives one difference. The rounds put up to a minute
  between a variant and its reference; the machine's neighbours move server CPU by a third
  over such a span, and a pair of one-second slices sees the same neighbours. The pairs come
  in ${opts.pairBlocks} blocks, each on a fresh pair of server processes (warmed up for ${opts.warmup} s), because
  a process has a cost of its own (how V8 compiled its hot code, where its heap landed) that
  pairs inside one process cannot see; each block gives the median of its pairs. A target is
  **met** when the whole distribution-free 95 % interval of the median of the block medians
  (order statistics of the binomial; with 6 blocks, their lowest to their highest) is within
  its limit, **not met** when the whole interval is past it, and **not judged** when the
  interval spans the limit.
- The **throughput target** is judged from the same kind of pairs: each pair gives the
  variant's req/s over its reference's, each block the median of its pairs' ratios, and the
  interval is over the ${opts.pairBlocks} block ratios.
- **Noise.** Around every round the run reads \`/proc/stat\` (user + nice + system + steal of
  all cores) and subtracts the server's and the load generator's own CPU time: what is left
  is other processes. A round in which they took more than ${opts.noise} of a core is run again, up
  to ${opts.retries} more times, and the quietest try is kept. Per-round figures are below.
- **KB allocated/req** is JS-heap bytes allocated by the server process during a round per
  2xx response: heap in use at the end minus at the start, plus what every garbage
  collection in between freed (V8's own before/after figures per GC, via \`v8.GCProfiler\`).
  Every byte allocated is either still in use or was collected, so this is exact for the JS
  heap; Buffer backing stores (external memory) are not included.
- **RSS** in the table is the server process's resident set size after its last round.
  The **RSS targets** are judged like the CPU targets, from the paired blocks: each block's
  fresh pair of processes gives one ratio (the variant's RSS over its reference's, after the
  block's pairs), and the interval is over the ${opts.pairBlocks} ratios. A single process per variant is
  not enough: V8 sizes each process's young generation from what it has seen and keeps it.
${opts.traceparent ? '- Every other request carries a valid `traceparent` (`--traceparent`): half continue a trace, half start one.' : '- Requests carry no `traceparent`, so every request starts a new trace (the id\n  generation path); extraction still runs on every request. `--traceparent` sends one on every other request.'}

Per round: server CPU µs/req, other processes' CPU in cores, 1-minute load average, tries:

${noiseTable(opts, rounds)}

${existsSync(FINDINGS) ? `${readFileSync(FINDINGS, 'utf8').trim()}\n\n` : ''}Rerun: \`npm run bench\` (about ${Math.ceil((opts.variants.length * (opts.warmup + opts.rounds * opts.duration) + new Set(targets.filter((t) => t.blocks || t.ratioBlocks).map((t) => pairKey(t.variant, t.against))).size * opts.pairBlocks * 2 * (opts.warmup + Math.round(opts.pairs / opts.pairBlocks) * opts.pairSeconds) + (opts.scrape ? 60 : 0)) / 60 + 0.5)} min without repeats). Flags: \`--duration=s --rounds=n --connections=n --warmup=s --pairs=n --pair-seconds=s --pair-blocks=n\`,
\`--only=a,b\`, \`--quick\` (smoke run, writes nothing), \`--profile=<variant>\` (CPU-profiles that
variant's process and prints where the time goes), \`--no-pin\`, \`--noise=cores\`, \`--retries=n\`, \`--no-scrape\`,
\`--traceparent\` (every other request continues a trace).
Runs with \`--only\` or \`--profile\` write only to \`--out=path\`.
`;
}

// The profiled variant's time by owner and by function (bench/profile.mjs),
// in % of its busy time and in µs a request at `cpuUs`, the median server CPU
// its rounds measured (profiled, so above an unprofiled run's).
function summarizeProfile(file, cpuUs, top = 20) {
  const { busyUs, self, owners } = profileTime(JSON.parse(readFileSync(file, 'utf8')), ROOT);
  const line = ([key, us]) => `  ${((100 * us) / busyUs).toFixed(1).padStart(5)}%  ${((cpuUs * us) / busyUs).toFixed(2).padStart(6)} µs/req  ${key}`;
  console.log(`\nCPU profile ${file}: ${(busyUs / 1e6).toFixed(1)} s busy, ${cpuUs.toFixed(1)} µs/req (profiled). By owner (the first frame up the stack that is throughline's, a bench variant's or a package's):`);
  for (const o of owners.slice(0, 12)) console.log(line(o));
  console.log('Top self time:');
  for (const f of self.slice(0, top)) console.log(line(f));
}

async function main() {
  const opts = options();
  // Read before pinning: pinned, this process sees one available core.
  const m = machine();
  if (opts.pin) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const started = new Date();
  const loadBefore = loadavg1();
  const profileDir = opts.profile ? mkdtempSync(path.join(os.tmpdir(), 'throughline-prof-')) : undefined;
  console.log(
    `throughline bench: ${opts.variants.length} variants, ${opts.rounds} round(s) × ${opts.duration} s, ${opts.connections} connections${opts.traceparent ? ' (half with a traceparent)' : ''}, warmup ${opts.warmup} s, ${opts.pin ? 'pinned' : 'not pinned'}, Node.js ${process.version}${opts.nodeArgs.length > 0 ? `, servers run with ${opts.nodeArgs.join(' ')}` : ''}`,
  );
  const servers = [];
  let profiledCpuUs = 0;
  try {
    for (const v of opts.variants) servers.push(await startVariant(v, v.name === opts.profile ? profileDir : undefined, opts));
    for (const s of servers) await load(s, opts.warmup, opts);
    const rounds = [];
    for (let r = 0; r < opts.rounds; r++) {
      const round = {};
      const order = servers.map((_, i) => servers[(i + r) % servers.length]);
      for (const s of order) round[s.variant.name] = await measure(s, opts);
      rounds.push(round);
      console.log(
        `round ${r + 1}/${opts.rounds}: ${order
          .map((s) => {
            const x = round[s.variant.name];
            return `${s.variant.name} ${x.cpuUs.toFixed(1)} µs (other ${x.other?.toFixed(2) ?? '?'}${x.attempts > 1 ? `, ${x.attempts} tries` : ''})`;
          })
          .join(', ')}`,
      );
    }
    const end = {};
    for (const s of servers) end[s.variant.name] = await s.stats();
    // The paired blocks start servers of their own: the rounds' are done.
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    const pairs = {};
    const byName = Object.fromEntries(opts.variants.map((v) => [v.name, v]));
    // One paired measurement per (variant, reference) a target names: an RSS
    // target whose pair is also a CPU target's reads that pair's processes.
    for (const t of TARGETS.filter((t) => byName[t.variant] && byName[t.against])) {
      const key = pairKey(t.variant, t.against);
      if (pairs[key]) continue;
      pairs[key] = await paired(byName[t.variant], byName[t.against], opts);
      printPair(t.variant, t.against, pairs[key]);
    }
    // --pair=a:b — a difference measured the same way for attribution, no target.
    for (const [a, b] of opts.extraPairs) printPair(a, b, await paired(byName[a], byName[b], opts));
    const { rows, targets } = summarize(opts.variants, rounds, end, pairs);
    profiledCpuUs = rows.find((r) => r.name === opts.profile)?.cpuUs ?? 0;
    console.log(`\n${table(rows)}\n\n${targetLines(targets)}\n`);
    for (const r of rows) if (r.spans !== undefined) console.log(`  ${r.name}: ${r.spans.toLocaleString('en-US')} spans exported`);
    const scrape = opts.scrape ? scrapeBench(opts.pin) : { header: 'Not run in this run (--no-scrape, --quick, --only or --profile)', rows: [['measure'], ['not run']], targets: [] };
    if (opts.scrape) console.log(`\n${targetLines(scrape.targets)}\n`);
    // Rendered on every run, --quick included, so a smoke run exercises it too.
    const doc = markdown({ opts, rows, targets, scrape, rounds, started, loadBefore, loadAfter: loadavg1(), m });
    if (opts.write) {
      writeFileSync(opts.out, doc);
      console.log(`wrote ${path.relative(ROOT, opts.out)}`);
    }
    if (rows.some((r) => r.failed > 0)) process.exitCode = 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  if (profileDir) for (const f of readdirSync(profileDir)) summarizeProfile(path.join(profileDir, f), profiledCpuUs);
}

await main();
