// node bench/middleware-loop.mjs <noop|floor|throughline> [iterations] [--read=getter|direct]
// The synchronous cost of one middleware call, without a server: each
// iteration builds a real IncomingMessage and ServerResponse (no socket I/O),
// runs the middleware and reads the trace id in `next`, as the bench's
// handler does. Prints ns per call, min and median of 9 rounds; the min is the
// work itself, the median adds the garbage collection of what it allocated.
// `noop` is a middleware that only calls next(): subtract it. Run it pinned
// (`taskset -c 1`) and compare variants in the same minute.
import { context, trace } from '@opentelemetry/api';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { read: { type: 'string', default: 'getter' } } });
const [which = 'throughline', count = '200000'] = positionals;
const N = Number(count);
const direct = () => trace.getSpanContext(context.active()).traceId;

let middleware;
let read = direct;
if (which === 'noop') {
  middleware = (_req, _res, next) => next();
  read = () => 'none';
} else if (which === 'floor') {
  // The floor's middleware is not exported: take it from its app's router stack.
  const { server } = await (await import('./variants/floors/context.mjs')).start();
  const app = server.listeners('request')[0];
  middleware = app.router.stack.find((layer) => layer.name === 'floorContext').handle;
} else if (which === 'throughline') {
  const { traceContext } = await import('throughline/express');
  const { getTraceContext } = await import('throughline/core');
  middleware = traceContext();
  if (values.read === 'getter') read = () => getTraceContext().traceId;
} else {
  throw new TypeError(`Expected noop, floor or throughline, got \`${which}\``);
}

const socket = new Socket();
function once() {
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/users/42';
  req.headers = { host: 'localhost:3000', 'user-agent': 'autocannon', accept: '*/*' };
  const res = new ServerResponse(req);
  let id;
  middleware(req, res, () => {
    id = read();
  });
  return id;
}

for (let i = 0; i < 50_000; i++) once();
const rounds = [];
for (let r = 0; r < 9; r++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) once();
  rounds.push(Number(process.hrtime.bigint() - start) / N);
}
rounds.sort((a, b) => a - b);
console.log(`${which}: ${rounds[0].toFixed(0)} ns/call min, ${rounds[4].toFixed(0)} median (${N} calls × 9 rounds)`);
