// Express catches what a handler throws (or, in Express 5, the promise it
// rejects) and hands it to `next(err)` inside its router, out of reach of any
// middleware mounted before the route. To put the exception on the request's
// span we wrap the `next` that the router's Layer passes to each handler.
// The patch is installed once per Layer class, found from the app the first
// request runs through; it only observes, and only for requests that
// traceContext() handles. Express 4 names the methods handle_request /
// handle_error; router 2.x (Express 5) handleRequest / handleError.

type Next = (err?: unknown) => unknown;
type Handle = (this: unknown, ...args: unknown[]) => unknown;
export type ErrorSink = (error: unknown) => void;

export const ERROR_SINK: unique symbol = Symbol('throughline.error-sink');
const PATCHED = Symbol.for('throughline.express-layer-patched');

interface SinkCarrier {
  [ERROR_SINK]?: ErrorSink;
}

function wrapNext(next: Next, sink: ErrorSink): Next {
  return function throughlineNext(err?: unknown) {
    if (err !== undefined && err !== null && err !== 'route' && err !== 'router') sink(err);
    return next(err);
  };
}

function patchMethod(proto: Record<string, unknown>, name: string, reqIndex: number): void {
  const original = proto[name];
  if (typeof original !== 'function') return;
  const orig = original as Handle;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    const sink = (args[reqIndex] as SinkCarrier | undefined)?.[ERROR_SINK];
    const last = args.length - 1;
    if (sink !== undefined && typeof args[last] === 'function') args[last] = wrapNext(args[last] as Next, sink);
    return orig.apply(this, args);
  };
}

function routerOf(app: unknown): { stack?: unknown[] } | undefined {
  if (app === null || typeof app !== 'function') return undefined;
  const a = app as { _router?: { stack?: unknown[] }; router?: { stack?: unknown[] } };
  // Express 4 throws on `app.router`; it keeps the router in `_router`.
  if ('_router' in a) return a._router;
  try {
    return a.router;
  } catch {
    return undefined;
  }
}

const seenApps = new WeakSet<object>();

export function patchExpressLayers(app: unknown): void {
  if (typeof app !== 'function' || seenApps.has(app)) return;
  const layer = routerOf(app)?.stack?.[0];
  if (layer === undefined || layer === null) return;
  const proto = Object.getPrototypeOf(layer) as Record<string | symbol, unknown>;
  seenApps.add(app);
  if (proto[PATCHED] === true) return;
  proto[PATCHED] = true;
  patchMethod(proto, 'handle_request', 0);
  patchMethod(proto, 'handleRequest', 0);
  patchMethod(proto, 'handle_error', 1);
  patchMethod(proto, 'handleError', 1);
}
