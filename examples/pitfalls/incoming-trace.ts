// Trap: the OpenTelemetry API's default context manager is a no-op and nobody
// reads the incoming `traceparent`, so a handler sees no trace: logs have no
// trace_id and every span starts an orphan trace. traceContext() registers the
// AsyncLocalStorage context manager and extracts the caller's context. Run:
//   npx tsx examples/pitfalls/incoming-trace.ts
import express, { type Express } from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { traceContext, tryGetTraceContext } from 'throughline';

const traceparent = '00-11111111111111111111111111111111-1111111111111111-01';

// Serves `app` on a free port, sends it one request with a traceparent, closes it.
async function traceIdSeenBy(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/whoami`, { headers: { traceparent } });
  const seen = await res.text();
  await new Promise((resolve) => server.close(resolve));
  return seen;
}

const whoami = (_req: express.Request, res: express.Response) => {
  res.send(String(tryGetTraceContext()?.traceId));
};

// No traceContext(): no context manager, no extraction. Runs first, as in a
// process where nothing has registered a context manager yet.
const plain = express();
plain.get('/whoami', whoami);
const plainSaw = await traceIdSeenBy(plain);

const traced = express();
traced.use(traceContext()); // first, before body parsers and routes
traced.get('/whoami', whoami);
const tracedSaw = await traceIdSeenBy(traced);

console.log(`the caller sent            ${traceparent.split('-')[1]}`);
console.log(`without traceContext() saw ${plainSaw}`);
console.log(`with traceContext() saw    ${tracedSaw}`);
if (plainSaw !== 'undefined' || tracedSaw !== '1'.repeat(32)) process.exitCode = 1;
