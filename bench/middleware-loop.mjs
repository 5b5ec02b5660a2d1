// node bench/middleware-loop.mjs <noop|floor|throughline|floor-spans|throughline-metrics> [iterations] [--read=getter|direct] [--traceparent] [--app [--bare-layers]] [--steps=close,layers,state]
// node --min-semi-space-size=256 --max-semi-space-size=256 bench/middleware-loop.mjs <…> --bytes
// The synchronous cost of one middleware call, without a server: each
// iteration builds a real IncomingMessage and ServerResponse (no socket I/O),
// runs the middleware, reads the trace id in `next` as the bench's handler
// does, and emits the response's 'finish' (which ends a traced request). Prints ns per call, min and median of 9 rounds; the min is the
// work itself, the median adds the garbage collection of what it allocated.
// `noop` is a middleware that only calls next(): subtract it. Run it pinned
// (`taskset -c 1`) and compare variants in the same minute. With --bytes it
// prints the bytes allocated per call instead: 10,000 calls in a young
// generation big enough that no GC runs (the semi-space flags above), so the
// heap's growth is exactly what they allocated. With --traceparent every other
// call carries a valid `traceparent`, as `npm run bench -- --traceparent` sends.
// With --app each iteration runs the variant's whole Express app instead of its
// middleware alone: the router, every layer the request passes (with what the
// variant does in each), the route's handler and its `res.json()`, then the
// response's 'finish' and 'close', which Node emits after the last write
// (here at once: without a socket there is no tick between them). It
// is what the server does for a request minus the socket and the parser, so
// the difference between two variants here is their own synchronous work
// (and its garbage collection, in the median). `noop` is then bare Express.
// --bare-layers puts the router's own Layer methods back after the first call,
// so a variant that hooks them (throughline, for the route and for errors)
// runs without its per-layer hooks: the difference is what they cost.
import { context, trace } from '@opentelemetry/api';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { HALF_TRACED } from './server-client.mjs';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { read: { type: 'string', default: 'getter' }, bytes: { type: 'boolean', default: false }, traceparent: { type: 'boolean', default: false }, app: { type: 'boolean', default: false }, 'bare-layers': { type: 'boolean', default: false }, steps: { type: 'string' } } });
if (values['bare-layers'] && !values.app) throw new TypeError('Expected `--bare-layers` with `--app`: only the app runs through the router');
const [which = 'throughline', count = '200000'] = positionals;
// --steps=close,layers,state: floor-spans with those of throughline's steps (floors/spans.mjs).
if (values.steps !== undefined && which !== 'floor-spans') throw new TypeError('Expected `--steps` with floor-spans: only that floor has steps');
const steps = values.steps?.split(',') ?? [];
const N = Number(count);
const direct = () => trace.getSpanContext(context.active()).traceId;

// Each mode takes its middleware from the bench variant's own app, so the loop
// runs exactly what the server runs (providers registered as the variant does).
const MODES = {
  floor: ['./variants/floors/context.mjs', 'floorContext', direct],
  'floor-spans': ['./variants/floors/spans.mjs', 'floorSpans', () => trace.getActiveSpan().spanContext().traceId],
  throughline: ['./variants/throughline-context.mjs', 'traceContext', 'getter'],
  'throughline-metrics': ['./variants/throughline-metrics.mjs', 'traceContext', 'getter'],
};

let middleware;
let app;
let read = direct;
if (which === 'noop' && values.app) {
  app = (await (await import('./variants/express.mjs')).start()).server.listeners('request')[0];
} else if (which === 'noop') {
  middleware = (_req, _res, next) => next();
  read = () => 'none';
} else if (MODES[which] !== undefined) {
  const [file, layerName, reader] = MODES[which];
  const { server } = await (await import(file)).start({ steps });
  app = server.listeners('request')[0];
  middleware = app.router.stack.find((layer) => layer.name === layerName).handle;
  if (reader !== 'getter') read = reader;
  else if (values.read === 'getter') {
    const { getTraceContext } = await import('throughline/core');
    read = () => getTraceContext().traceId;
  }
} else {
  throw new TypeError(`Expected noop, ${Object.keys(MODES).join(', ')}, got \`${which}\``);
}

const socket = new Socket();
let calls = 0;
function once() {
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/users/42';
  req.headers = { host: 'localhost:3000', 'user-agent': 'autocannon', accept: '*/*' };
  if (values.traceparent && ++calls % 2 === 0) req.headers.traceparent = HALF_TRACED[0].headers.traceparent;
  const res = new ServerResponse(req);
  if (values.app) {
    app(req, res);
    if (!res.writableEnded) throw new Error(`${which}: the app did not answer synchronously (is BENCH_HANDLER_DELAY_MS set?)`);
    // Without a socket the response's writes stay queued: emit what Node would.
    res.emit('finish');
    res.emit('close');
    return res.statusCode;
  }
  let id;
  middleware(req, res, () => {
    id = read();
  });
  // What ends a traced request: its span ends and its duration is recorded.
  res.emit('finish');
  return id;
}

if (values['bare-layers']) {
  // No request has run yet: the Layer prototype still has the router's methods.
  const proto = Object.getPrototypeOf(app.router.stack[0]);
  const own = { handleRequest: proto.handleRequest, handleError: proto.handleError };
  once();
  if (proto.handleRequest === own.handleRequest) throw new Error(`${which} does not hook the router's layers: --bare-layers changes nothing`);
  Object.assign(proto, own);
}
for (let i = 0; i < 50_000; i++) once();
if (values.bytes) {
  // A whole app allocates about 20 KB a call, twice what a middleware does.
  const calls = values.app ? 4_000 : 10_000;
  const sizes = [];
  for (let r = 0; r < 5; r++) {
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < calls; i++) once();
    sizes.push((process.memoryUsage().heapUsed - before) / calls);
  }
  sizes.sort((a, b) => a - b);
  // A GC in a round shows as a negative or tiny figure: the median of 5 skips it.
  console.log(`${which}: ${sizes[2].toFixed(0)} bytes/call (median of 5 × ${calls} calls; ${sizes.map((b) => b.toFixed(0)).join(', ')})`);
  process.exit(0);
}
const rounds = [];
for (let r = 0; r < 9; r++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) once();
  rounds.push(Number(process.hrtime.bigint() - start) / N);
}
rounds.sort((a, b) => a - b);
console.log(`${which}: ${rounds[0].toFixed(0)} ns/call min, ${rounds[4].toFixed(0)} median (${N} calls × 9 rounds)`);
