// Trap: a request body arrives as 'data'/'end' events on `req`, emitted from
// the socket's callbacks in the socket's async context, not the request's; a
// keep-alive socket outlives the request that opened it. Every listener on the
// body (a body parser resuming the chain, pipeline() transforms, your own
// req.on('end')) would run outside the request's trace. traceContext() makes
// `req` and `res` emit in their own request's context: mount it before the
// parsers. Run:
//   npx tsx examples/pitfalls/body-parser.ts
import express from 'express';
import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { traceContext, tryGetTraceContext } from 'throughline';

const traceId = () => String(tryGetTraceContext()?.traceId);

const app = express();
app.use(traceContext()); // first
app.use((req, res, next) => {
  // Your own listener on the body stream, e.g. to log when an upload finished.
  req.once('end', () => (res.locals['endListenerSaw'] = traceId()));
  next();
});
// Calls next() once the body has been read. (Its own callback is also bound by
// raw-body, which it uses; your own listeners get no such help.)
app.use(express.json());
app.get('/ping', (_req, res) => {
  res.send('pong');
});
app.post('/orders', (req, res) => {
  res.json({ item: (req.body as { item: string }).item, endListenerSaw: res.locals['endListenerSaw'], routeSaw: traceId() });
});

const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
const agent = new Agent({ keepAlive: true, maxSockets: 1 }); // one socket, reused

async function send(method: string, path: string, traceparent: string, body?: string) {
  const headers: Record<string, string | number> = { traceparent };
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  const req = request({ host: '127.0.0.1', port, method, path, agent, headers });
  req.flushHeaders();
  // The body follows the headers a little later, as a real upload does: the
  // server reads it in a socket callback of its own.
  if (body !== undefined) await sleep(20);
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let text = '';
  for await (const chunk of res) text += String(chunk);
  return { reusedSocket: req.reusedSocket, text };
}

// Request A opens the socket; request B, with a JSON body, reuses it.
await send('GET', '/ping', '00-33333333333333333333333333333333-3333333333333333-01');
const b = await send('POST', '/orders', '00-44444444444444444444444444444444-4444444444444444-01', JSON.stringify({ item: 'book' }));
agent.destroy();
server.close();

const seen = JSON.parse(b.text) as { item: string; endListenerSaw: string; routeSaw: string };
console.log(`request B (trace 4444…) reused request A's (trace 3333…) socket: ${b.reusedSocket}`);
console.log(`req.once('end') listener saw   ${seen.endListenerSaw}`);
console.log(`route after express.json() saw ${seen.routeSaw} (body item: ${seen.item})`);
if (!b.reusedSocket || seen.item !== 'book' || seen.endListenerSaw !== '4'.repeat(32) || seen.routeSaw !== '4'.repeat(32)) process.exitCode = 1;
