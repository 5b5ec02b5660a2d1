import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import express5 from 'express';
import { randomFillSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { awaiting, userBody } from '../shared.mjs';

// The context-only floor: the least a middleware can do and still give what
// traceContext() gives without an SDK, hand-written with nothing to
// configure. An OTel Context through the registered context manager (so the
// API's getters work), a tight traceparent check, ids sliced from a pooled
// buffer, a request id echoed with setHeader, and req/res emit() run in the
// request's context. What traceContext() costs above this is its own.
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const REQUEST_ID_RE = /^[\x21-\x7e]{1,128}$/;
// `enter: 'attach'` (the `floor-context-attach` variant): enter the request's
// context with the API's `context.attach()` (AsyncLocalStorage `enterWith()`,
// `withScope()` on Node 25.9+) and call next() in it, instead of running next()
// inside `context.with()`: what the frame of `context.with()` costs a
// middleware (bench/findings.md, 2026-12-03).
const pool = Buffer.allocUnsafe(16 * 1024);
let offset = pool.length;

function id(bytes) {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += bytes;
  return pool.toString('hex', offset - bytes, offset);
}

// Node's own 'end' listener, added when a response finishes before its
// request was read, needs no context; traceContext() skips it
// (middleware/trace-context/emit-in.ts), so the floor does too.
let nodeClearIncoming;
function isNodeClearIncoming(listener) {
  if (nodeClearIncoming !== undefined) return listener === nodeClearIncoming;
  if (listener?.name !== 'clearIncoming' || !String(listener).includes('parser.incoming')) return false;
  nodeClearIncoming = listener;
  return true;
}

/** Runs `emitter`'s emit() in `ctx` for events with listeners (shared with the spans floor). */
export function emitIn(ctx, emitter) {
  const emit = emitter.emit;
  emitter.emit = function (event, ...args) {
    const listeners = this.listenerCount(event);
    if (listeners === 0 || context.active() === ctx || (listeners === 1 && event === 'end' && isNodeClearIncoming(this.rawListeners('end')[0]))) {
      return emit.call(this, event, ...args);
    }
    return context.with(ctx, () => emit.call(this, event, ...args));
  };
}

/** A valid incoming x-request-id, or a new UUID, echoed in the response (shared with the spans floor). */
export function echoRequestId(req, res) {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', requestId);
  return requestId;
}

/** The request's span context: its valid traceparent's, or minted ids (shared with the diagnostics_channel floor). */
export function spanContextOf(req) {
  const m = TRACEPARENT_RE.exec(req.headers.traceparent ?? '');
  return m ? { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16) & 1, isRemote: true } : { traceId: id(16), spanId: id(8), traceFlags: 0 };
}

/** The middleware; `byAttach`: enter by `context.attach()` instead of `context.with()`. */
function floorContextOf(byAttach) {
  return function floorContext(req, res, next) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContextOf(req));
    echoRequestId(req, res);
    emitIn(ctx, req);
    emitIn(ctx, res);
    if (byAttach) {
      context.attach(ctx);
      next();
    } else context.with(ctx, next);
  };
}

/** The context-only floor: a minimal hand-written middleware on the OTel context manager. */
export async function start({ express = express5, enter = 'with' } = {}) {
  if (enter !== 'with' && enter !== 'attach') throw new TypeError(`floor-context: \`enter\` must be 'with' or 'attach', got ${String(enter)}`);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const app = express();
  app.use(floorContextOf(enter === 'attach'));
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, trace.getSpanContext(context.active()).traceId));
    }),
  );
  return { server: createServer(app) };
}
