// Two things traceContext() needs from inside Express's router, where no
// middleware mounted before the route can see:
// - errors: Express catches what a handler throws (or, in Express 5, the
//   promise it rejects) and hands it to `next(err)`; wrapping the `next` the
//   router's Layer passes to each handler puts the exception on the span;
// - the route template: each Layer the request passes through tells which
//   mount it is in (`req.baseUrl`, already set by the router) and, for a
//   route layer, the route's path (`layer.route.path`).
// The patch is installed once per Layer class, found from the app the first
// request runs through; it only observes, and only requests that carry hooks.
// Express 4 names the methods handle_request / handle_error; router 2.x
// (Express 5) handleRequest / handleError. The process state records how to
// undo the patch, so the testing reset leaves Express as it found it.
import { processState } from '../../src/internal/state.js';

type Next = (err?: unknown) => unknown;

/** What one request wants to hear from the router's layers. */
export interface LayerHooks {
  /** An error passed to `next(err)` by a handler, or caught from it by Express. */
  error?: ((error: unknown) => void) | undefined;
  /** The request enters `layer` (a mount, a middleware, a route or a route's handler). */
  enter?: ((layer: unknown, req: unknown) => void) | undefined;
}

// A symbol property set once per request: unlike accessors defined on the
// request, it keeps the IncomingMessage a fast-mode object for V8.
export const LAYER_HOOKS: unique symbol = Symbol('throughline.layer-hooks');
const PATCHED = Symbol.for('throughline.express-layer-patched');

interface HooksCarrier {
  [LAYER_HOOKS]?: LayerHooks | undefined;
}

function wrapNext(next: Next, sink: (error: unknown) => void): Next {
  return function throughlineNext(err?: unknown) {
    if (err !== undefined && err !== null && err !== 'route' && err !== 'router') sink(err);
    return next(err);
  };
}

// The router calls handleRequest(req, res, next) and handleError(err, req,
// res, next) with exactly these arguments: fixed-arity wrappers instead of
// `(...args) => orig.apply(this, args)` spare an arguments array on each
// layer a request passes (three in the bench app). Too small to show above
// the span variants' noise (bench/findings.md, 2026-12-02): no figure.
type RequestHandle = (this: unknown, req: unknown, res: unknown, next: unknown) => unknown;
type ErrorHandle = (this: unknown, err: unknown, req: unknown, res: unknown, next: unknown) => unknown;

/** Tells the request's hooks that it enters `layer`, and returns the `next` the layer should get. */
function enterLayer(layer: unknown, req: unknown, next: unknown): unknown {
  const hooks = (req as HooksCarrier | undefined)?.[LAYER_HOOKS];
  if (hooks === undefined) return next;
  hooks.enter?.(layer, req);
  return hooks.error !== undefined && typeof next === 'function' ? wrapNext(next as Next, hooks.error) : next;
}

function patchMethod(proto: Record<string | symbol, unknown>, name: string, kind: 'request' | 'error'): (() => void) | undefined {
  const original = proto[name];
  if (typeof original !== 'function') return undefined;
  if (kind === 'request') {
    const orig = original as RequestHandle;
    proto[name] = function (this: unknown, req: unknown, res: unknown, next: unknown) {
      return orig.call(this, req, res, enterLayer(this, req, next));
    };
  } else {
    const orig = original as ErrorHandle;
    proto[name] = function (this: unknown, err: unknown, req: unknown, res: unknown, next: unknown) {
      return orig.call(this, err, req, res, enterLayer(this, req, next));
    };
  }
  return () => {
    proto[name] = original;
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

export function patchExpressLayers(app: unknown): void {
  const state = processState();
  if (typeof app !== 'function' || state.patchedApps.has(app)) return;
  const layer = routerOf(app)?.stack?.[0];
  if (layer === undefined || layer === null) return;
  const proto = Object.getPrototypeOf(layer) as Record<string | symbol, unknown>;
  state.patchedApps.add(app);
  if (proto[PATCHED] === true) return;
  proto[PATCHED] = true;
  const undo = [
    patchMethod(proto, 'handle_request', 'request'),
    patchMethod(proto, 'handleRequest', 'request'),
    patchMethod(proto, 'handle_error', 'error'),
    patchMethod(proto, 'handleError', 'error'),
  ];
  state.undo.push(() => {
    for (const restore of undo) restore?.();
    delete proto[PATCHED];
  });
}
