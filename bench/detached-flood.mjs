// 200,000 runDetached() calls in one loop, every job never settling (issue 12,
// item 3): heap growth, the event-loop stall, and what shutdown then costs
// (the `jobs` phase against a 1 s jobsTimeoutMs, and how many bytes it logs).
// Run: npm run bench:detached   (builds first; uses the built dist/)
import { createServer } from 'node:http';
import { gracefulShutdown, runDetached, runningJobCount } from '../dist/src/index.js';

const CALLS = Number(process.env.CALLS ?? 200_000);
const gc = globalThis.gc ?? (() => {});
const mb = (bytes) => Math.round(bytes / 1e5) / 10;

gc();
const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
let rejected = 0;
for (let i = 0; i < CALLS; i++) {
  const handle = runDetached(() => new Promise(() => {}), { name: `job-${i % 7}` });
  if (handle.id === 0) rejected++;
}
// The stall: from the loop's start until the event loop turns again (the
// jobs' own setImmediate callbacks run before this one does).
await new Promise((resolve) => setImmediate(resolve));
await new Promise((resolve) => setTimeout(resolve, 0));
const stallMs = performance.now() - started;
gc();
const heapAfter = process.memoryUsage().heapUsed;
const running = runningJobCount();

const server = createServer((_req, res) => res.end());
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
let loggedBytes = 0;
const count = (obj, msg) => (loggedBytes += JSON.stringify(obj).length + msg.length);
const { terminate } = gracefulShutdown(server, {
  signals: [],
  drainDelayMs: 0,
  closeTimeoutMs: 1_000,
  jobsTimeoutMs: 1_000,
  logger: { info: count, warn: count, error: count },
});
const report = await terminate('bench');
console.log(
  JSON.stringify({
    calls: CALLS,
    running,
    rejected,
    heapGrowthMb: mb(heapAfter - heapBefore),
    stallMs: Math.round(stallMs),
    jobsPhaseMs: Math.round(report.durationsMs.jobs),
    abandoned: report.jobsAbandonedCount ?? report.jobsAbandoned.length,
    loggedMb: mb(loggedBytes),
  }),
);
