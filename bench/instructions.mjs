// npm run bench:instructions — instructions per request, counted by
// valgrind's callgrind, for each variant's server. Time per request on a
// shared two-core machine moved by ±30 % between rounds even with nothing
// else running here (2026-12-02: bare Express 40–72 µs in one run), which
// hides the few µs the targets are about. An instruction count does not move
// with the neighbours: the same binary, requests and heap give the same count
// within a fraction of a percent, so a difference of 1 % is real. Not so for
// the span variants: their servers run a full (mark-compact) collection every
// ~3,000 requests (`npm run bench:gc`), so the window holds one or two of them
// and the count moved by up to 10 % between passes of one build (307k–334k a
// request for the spans floor, 2026-12-04): there, only differences well above
// that spread, or means over many `--repeat`s, say anything.
//
// Each variant's server (bench/server.mjs) runs under callgrind; this process
// drives it with autocannon: a warm-up (so V8 has optimised the hot code), a
// callgrind dump that ends the warm-up's count, the measured requests, and a
// second dump that holds only them. Garbage collection of what the requests
// allocated is in the count, as it is in the server's CPU time.
//
// Flags: --only=a,b (variant names), --requests=n (measured, default 4000),
// --warmup=n (default 4000), --connections=n (default 4), --repeat=n (default 1),
// --json=path (write the figures as JSON too), --keep=dir (keep each measured
// dump there, for `callgrind_annotate` by function), --cache-sim (also
// simulate the caches: first-level and last-level misses per request, a
// guess at what the clock sees beyond instructions; about 2× slower).
import autocannon from 'autocannon';
import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HALF_TRACED, URL_PATH } from './server-client.mjs';
import { DEFAULT_VARIANTS, VARIANTS } from './variants/index.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER = path.join(ROOT, 'bench', 'server.mjs');

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      requests: { type: 'string', default: '4000' },
      warmup: { type: 'string', default: '4000' },
      connections: { type: 'string', default: '4' },
      repeat: { type: 'string', default: '1' },
      json: { type: 'string' },
      keep: { type: 'string' },
      'cache-sim': { type: 'boolean', default: false },
    },
  });
  const num = (flag) => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n <= 0) throw new TypeError(`Expected \`--${flag}\` to be an integer > 0, got \`${values[flag]}\``);
    return n;
  };
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((n) => !VARIANTS.some((v) => v.name === n)) ?? [];
  if (unknown.length > 0) throw new TypeError(`Unknown variant(s) in --only: ${unknown.join(', ')}`);
  return {
    variants: only ? VARIANTS.filter((v) => only.includes(v.name)) : DEFAULT_VARIANTS,
    requests: num('requests'),
    warmup: num('warmup'),
    connections: num('connections'),
    repeat: num('repeat'),
    json: values.json,
    keep: values.keep,
    cacheSim: values['cache-sim'],
  };
}

function load(port, amount, connections) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}${URL_PATH}`,
        connections,
        amount,
        // Half the requests continue a trace, half start one: both paths are in the count.
        requests: HALF_TRACED,
        timeout: 60,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** The totals of a callgrind dump file, by event name (`Ir`, and with --cache-sim `D1mr`, `DLmr`, …). */
function totalsOf(file) {
  const text = readFileSync(file, 'utf8');
  const events = /^events:\s+(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  const totals = /^(?:summary|totals):\s+(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (!events || !totals) throw new Error(`no events or totals line in ${file}`);
  return Object.fromEntries(events.map((name, i) => [name, totals[i] ?? 0]));
}

/** Asks callgrind in `pid` to dump (which also zeroes its counters) and returns the new dump file's path. */
async function dump(pid, dir) {
  const before = new Set(readdirSync(dir));
  execFileSync('callgrind_control', ['--dump', String(pid)], { stdio: 'ignore' });
  // callgrind writes the dump from the server's own thread, a moment later.
  for (let i = 0; i < 600; i++) {
    const fresh = readdirSync(dir).filter((f) => !before.has(f) && /\.out\.\d+$/.test(f));
    if (fresh.length > 0) {
      const file = path.join(dir, fresh[0]);
      // A dump is complete once its totals line is there.
      if (/^(?:summary|totals):/m.test(readFileSync(file, 'utf8'))) return file;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`callgrind in process ${pid} wrote no dump within 60 s`);
}

async function measure(variant, opts, round) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'throughline-callgrind-'));
  const child = fork(SERVER, [variant.name], {
    execPath: 'valgrind',
    execArgv: [
      '--tool=callgrind',
      '--quiet',
      // The VM reports a 512 MB direct-mapped L3, which would hide every
      // last-level miss: simulate a server part's 16 MB, 16-way, instead.
      ...(opts.cacheSim ? ['--cache-sim=yes', '--LL=16777216,16,64'] : []),
      `--callgrind-out-file=${path.join(dir, 'cg.out')}`,
      process.execPath,
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const [ready] = await once(child, 'message');
    const warm = await load(ready.port, opts.warmup, opts.connections);
    if (warm.non2xx > 0 || warm.errors > 0) throw new Error(`${variant.name}: ${warm.non2xx} non-2xx, ${warm.errors} errors in the warm-up`);
    await dump(child.pid, dir);
    const run = await load(ready.port, opts.requests, opts.connections);
    if (run.non2xx > 0 || run.errors > 0) throw new Error(`${variant.name}: ${run.non2xx} non-2xx, ${run.errors} errors`);
    const measured = await dump(child.pid, dir);
    if (opts.keep) {
      mkdirSync(opts.keep, { recursive: true });
      copyFileSync(measured, path.join(opts.keep, `${variant.name}.${round}.callgrind`));
    }
    const totals = totalsOf(measured);
    return Object.fromEntries(Object.entries(totals).map(([name, value]) => [name, value / run.requests.total]));
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const opts = options();
try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('npm run bench:instructions needs valgrind and callgrind_control on PATH (Debian: apt-get install valgrind)');
}
console.log(
  `throughline instructions: ${opts.variants.length} variants, ${opts.warmup} warm-up + ${opts.requests} measured requests, ` +
    `${opts.connections} connections, ${opts.repeat} time(s), Node.js ${process.version}`,
);
const results = {};
for (let r = 0; r < opts.repeat; r++) {
  for (const variant of opts.variants) {
    const perRequest = await measure(variant, opts, r);
    (results[variant.name] ??= []).push(perRequest);
    const n = (x) => Math.round(x).toLocaleString('en-US');
    // D1mr + D1mw: first-level data misses; ILmr + DLmr + DLmw: last-level misses (to memory).
    const misses = opts.cacheSim
      ? `, ${n(perRequest.D1mr + perRequest.D1mw)} L1 data misses, ${n(perRequest.ILmr + perRequest.DLmr + perRequest.DLmw)} last-level misses`
      : '';
    console.log(`${variant.name}: ${n(perRequest.Ir)} instructions/request${misses}`);
  }
}
if (opts.json) writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
