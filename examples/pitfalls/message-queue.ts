// Trap: a job payload is plain data. The consumer (another process, or this one
// much later) runs in its own context and starts a new, unrelated trace.
// injectContext() puts the producer's context in the payload; runWithContext()
// continues it in a CONSUMER span. Run:
//   npx tsx examples/pitfalls/message-queue.ts
import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { injectContext, runWithContext, traceContext, tryGetTraceContext, type Carrier } from 'throughline';

interface Job {
  to: string;
  trace: Carrier;
}
const jobs: Job[] = []; // an in-memory queue
const seen: string[] = [];

// The consumer starts at boot, outside any request, and polls the queue.
const consumed = new Promise<void>((done) => {
  const consume = () => {
    const job = jobs.shift();
    if (job === undefined) {
      setImmediate(consume);
      return;
    }
    seen.push(`consumer on its own saw        ${tryGetTraceContext()?.traceId}`);
    // Continue the producer's trace, in a CONSUMER span `process jobs`.
    runWithContext(job.trace, () => seen.push(`consumer in runWithContext saw ${tryGetTraceContext()?.traceId}`), {
      system: 'in-memory',
      destination: 'jobs',
    });
    done(); // one job is enough here: stop polling
  };
  setImmediate(consume);
});

const app = express();
app.use(traceContext());
app.post('/signup', (_req, res) => {
  // Producer, inside the request: the trace travels in the payload.
  jobs.push({ to: 'a@example.com', trace: injectContext() });
  seen.push(`producer saw                   ${tryGetTraceContext()?.traceId}`);
  res.sendStatus(202);
});

const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const traceparent = '00-77777777777777777777777777777777-7777777777777777-01';
await fetch(`http://127.0.0.1:${port}/signup`, { method: 'POST', headers: { traceparent } });
await consumed;
server.close();

console.log(seen.join('\n'));
// producer saw 7777…, consumer on its own saw undefined, consumer in runWithContext saw 7777…
if (!seen[0]?.endsWith('7'.repeat(32)) || !seen[1]?.endsWith('undefined') || !seen[2]?.endsWith('7'.repeat(32))) process.exitCode = 1;
