// npm run bench:gc -- <variant> [--runs=n] [--warmup=s] [--duration=s] [--connections=n] [--node-arg=<flag>]…   (node bench/gc.mjs, pinned to core 1)
// What one variant's server does per request besides running JavaScript: the
// young-generation garbage collections (count, pause, bytes promoted to the old
// generation, from V8's --trace-gc-nvp lines), the kernel's share of its CPU,
// the read and write system calls (/proc/<pid>/io) and the minor page faults
// (/proc/<pid>/stat: a young generation that grows faults its pages in), under the bench's load (10 connections, half the
// requests with a traceparent), measured after a warm-up on a fresh process
// per run. The server is pinned to core 0; run this pinned to core 1
// (`taskset -c 1 node bench/gc.mjs …`). It answers what server CPU µs cannot:
// whether a variant's extra cost is collection or syscalls, and whether it keeps
// request objects alive long enough to be promoted (bench/findings.md,
// 2026-12-02, evening). Full collections (mark-compact) are counted too: a
// handler that awaits (BENCH_HANDLER_DELAY_MS, bench/variants/shared.mjs) keeps
// requests alive long enough to fill the old generation.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createGcCounter } from './gc-trace.mjs';
import { HALF_TRACED, startServer } from './server-client.mjs';
import { VARIANTS } from './variants/index.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'node-arg': { type: 'string', multiple: true, default: [] }, runs: { type: 'string', default: '3' }, connections: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' }, duration: { type: 'string', default: '4' } },
});
const [name] = positionals;
if (!VARIANTS.some((v) => v.name === name)) throw new TypeError(`Expected a variant (${VARIANTS.map((v) => v.name).join(', ')}), got \`${name}\``);

function procCounters(pid) {
  const io = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((line) => line.split(': ')));
  // /proc/<pid>/stat: the fields after the command's closing parenthesis, minflt the 8th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const minorFaults = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  return { reads: Number(io.syscr), writes: Number(io.syscw), minorFaults };
}

async function measureOnce() {
  const server = await startServer(name, { pin: true, nodeArgs: ['--trace-gc-nvp', ...values['node-arg']], stdout: 'pipe' });
  const { child } = server;
  const gc = createGcCounter();
  child.stdout.on('data', (chunk) => gc.feed(chunk));
  const load = (seconds) => autocannon({ url: server.url, connections: Number(values.connections), duration: seconds, requests: HALF_TRACED });
  await load(Number(values.warmup));
  const before = { ...procCounters(child.pid), ...(await server.stats()) };
  gc.counting = true;
  const result = await load(Number(values.duration));
  gc.counting = false;
  const after = { ...procCounters(child.pid), ...(await server.stats()) };
  await server.stop();
  const n = result.requests.total;
  const { scavenges, full } = gc;
  // Thousands of requests allocate hundreds of MB: no scavenge means V8's
  // --trace-gc-nvp output was not understood, not that nothing was collected.
  if (scavenges.count === 0) throw new Error(`${name}: no scavenge seen in ${n} requests; did --trace-gc-nvp's format change (bench/gc-trace.mjs)?`);
  return {
    requests: n,
    cpuUs: (after.cpuUs - before.cpuUs) / n,
    systemUs: (after.systemUs - before.systemUs) / n,
    readsPerRequest: (after.reads - before.reads) / n,
    writesPerRequest: (after.writes - before.writes) / n,
    faultsPerRequest: (after.minorFaults - before.minorFaults) / n,
    scavengesPerThousand: (scavenges.count / n) * 1000,
    scavengeUsPerRequest: (scavenges.pauseMs * 1000) / n,
    promotedKbPerScavenge: scavenges.promoted / scavenges.count / 1024,
    fullPerThousand: (full.count / n) * 1000,
    fullUsPerRequest: (full.pauseMs * 1000) / n,
    rssMb: after.rss / 1024 / 1024,
  };
}

console.log(`${name}: per run, CPU µs/req (of it kernel) | reads/req | writes/req | page faults/req | scavenges per 1,000 req | scavenge pause µs/req | KB promoted per scavenge | full GCs per 1,000 req | full GC pause µs/req | RSS after load MB`);
for (let run = 0; run < Number(values.runs); run++) {
  const r = await measureOnce();
  console.log(
    `  ${r.requests} req: ${r.cpuUs.toFixed(1)} (${r.systemUs.toFixed(1)}) | ${r.readsPerRequest.toFixed(3)} | ${r.writesPerRequest.toFixed(3)} | ${r.faultsPerRequest.toFixed(2)} | ` +
      `${r.scavengesPerThousand.toFixed(2)} | ${r.scavengeUsPerRequest.toFixed(2)} | ${r.promotedKbPerScavenge.toFixed(0)} | ` +
      `${r.fullPerThousand.toFixed(3)} | ${r.fullUsPerRequest.toFixed(2)} | ${r.rssMb.toFixed(0)}`,
  );
}
process.exit(0);
