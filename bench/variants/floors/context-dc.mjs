import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import express5 from 'express';
import { subscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import { awaiting, userBody } from '../shared.mjs';
import { echoRequestId, emitIn, spanContextOf } from './context.mjs';

// The context-only floor driven from node:diagnostics_channel instead of an
// Express middleware: the same work as floors/context.mjs (traceparent or
// minted ids, the request id echoed, req/res emit() in the request's
// context), done in Node's `http.server.request.start` message, which Node
// publishes synchronously just before it emits 'request'. The request's
// context is entered with the OpenTelemetry API's `context.attach()` (API
// 1.10, experimental; the AsyncLocalStorage context manager implements it
// with `enterWith()`), so it holds for Express's whole synchronous dispatch
// and everything that dispatch schedules, without a `context.with()` frame
// around `next()`. The parser's callback scope ends the attachment when it
// returns. Only this variant's server is instrumented: the message names the
// server, as a library would need to keep per-server options.

/** The diagnostics_channel floor: no middleware, the context entered before Express runs. */
export async function start({ express = express5 } = {}) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const app = express();
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, trace.getSpanContext(context.active()).traceId));
    }),
  );
  const server = createServer(app);
  subscribe('http.server.request.start', ({ request, response, server: from }) => {
    if (from !== server) return;
    const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContextOf(request));
    echoRequestId(request, response);
    emitIn(ctx, request);
    emitIn(ctx, response);
    context.attach(ctx);
  });
  return { server };
}
