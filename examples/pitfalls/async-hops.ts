// Not a trap by itself: timers, ticks, microtasks, promises and async iterators
// all run in the context that was active when they were *scheduled*, so inside
// a request they keep its trace with no help. (The trap is a callback scheduled
// before the request, such as a queue drained by a timer started at boot: see
// shared-pool.ts and message-queue.ts.) Run:
//   npx tsx examples/pitfalls/async-hops.ts
import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { traceContext, tryGetTraceContext } from 'throughline';

const app = express();
app.use(traceContext());
app.get('/hops', async (_req, res) => {
  const seen: [hop: string, traceId: string][] = [];
  const check = (hop: string) => seen.push([hop, String(tryGetTraceContext()?.traceId)]);

  await new Promise<void>((resolve) => setTimeout(() => (check('setTimeout'), resolve()), 5));
  await new Promise<void>((resolve) => setImmediate(() => (check('setImmediate'), resolve())));
  await new Promise<void>((resolve) => process.nextTick(() => (check('process.nextTick'), resolve())));
  await new Promise<void>((resolve) => queueMicrotask(() => (check('queueMicrotask'), resolve())));
  await Promise.resolve()
    .then(() => new Promise((resolve) => setImmediate(resolve)))
    .then(() => check('promise chain'));

  async function* batches() {
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      check(`async generator (${i})`);
      yield i;
    }
  }
  for await (const i of batches()) check(`for await (${i})`);

  check('after every await');
  res.json(seen);
});

const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const traceparent = '00-22222222222222222222222222222222-2222222222222222-01';
const res = await fetch(`http://127.0.0.1:${port}/hops`, { headers: { traceparent } });
const seen = (await res.json()) as [string, string][];
server.close();

for (const [hop, traceId] of seen) console.log(`${hop.padEnd(19)} saw ${traceId}`);
if (seen.length !== 10 || seen.some(([, traceId]) => traceId !== '2'.repeat(32))) process.exitCode = 1;
