// When an OpenTelemetry NodeSDK runs @opentelemetry/instrumentation-http, that
// instrumentation has already extracted the caller's traceparent and started a
// SERVER span before Express sees the request, and it records
// http.server.request.duration when the response closes. A second SERVER span
// from traceContext() would be a sibling of it under the caller, and a second
// duration record would count each request twice (issue 15). So traceContext()
// adopts that span instead: it binds it for the request, names it
// `METHOD /route`, sets http.route, the spanAttributes option's attributes and
// the error status, and leaves ending and the duration metric to
// instrumentation-http. It finds the span the way instrumentation-express
// does: instrumentation-http puts it, with a mutable `route` slot it reads at
// the end, in the context's RPC metadata.
import { context, SpanStatusCode, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { getRPCMetadata, RPCType, type RPCMetadata } from '@opentelemetry/core';
import { ATTR_ERROR_TYPE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { knownMethod } from '../../src/internal/http-method.js';
import { ERROR_TYPE_ABORTED, httpServerInstruments } from '../../src/telemetry/http-server-metrics.js';
import { schemeOf } from './attributes.js';
import { LAYER_HOOKS, patchExpressLayers, type LayerHooks } from './express-layers.js';
import type { ResolvedTraceContextOptions } from './options.js';
import { routeFromRequest, trackRoute } from './route.js';
import { exceptionRecorder } from './span-errors.js';

/** What traceContext() hands the adopter for one request. */
export interface AdoptRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly opts: ResolvedTraceContextOptions;
  /** Whether `trustIncoming` accepted the incoming trace. */
  readonly trusted: boolean;
  /** Binds `ctx` with `span` as the request's span for the rest of the request (traceContext()'s bindRequest). */
  readonly bind: (ctx: Context, span: Span) => void;
  /** Runs an option callback, logging and falling back when it throws. */
  readonly safe: <T>(fn: (req: IncomingMessage) => T, req: IncomingMessage, fallback: T, option: string) => T;
}

/** The adopter of one traceContext() middleware: it warns once per middleware, not once per request. */
export type Adopter = (metadata: RPCMetadata, request: AdoptRequest) => void;

/**
 * The RPC metadata instrumentation-http put in `ctx` for the request running
 * there, if it did: its SERVER span, and the `route` slot it reads at the end.
 */
export function instrumentationHttpMetadata(ctx: Context = context.active()): RPCMetadata | undefined {
  const metadata = getRPCMetadata(ctx);
  return metadata?.type === RPCType.HTTP ? metadata : undefined;
}

/**
 * Returns the adopter for one traceContext() middleware. Called for a traced
 * request that instrumentation-http already started a span for (`metadata`,
 * from instrumentationHttpMetadata()); it adopts the span and binds the request.
 */
export function createAdopter(): Adopter {
  let warnedUntrusted = false;
  return function adopt(metadata, { req, res, opts, trusted, bind, safe }) {
    const { span } = metadata;
    if (!trusted && !warnedUntrusted) {
      warnedUntrusted = true;
      process.emitWarning(
        "throughline: trustIncoming rejected a request's trace, but instrumentation-http had already continued it; " +
          'configure instrumentation-http (requireParentforIncomingSpans, or a propagator that ignores untrusted callers) instead',
        { code: 'THROUGHLINE_UNTRUSTED_ADOPTED' },
      );
    }

    const method = knownMethod(req.method);
    if (opts.spanAttributes) {
      const extra: Attributes = safe(opts.spanAttributes, req, {}, 'spanAttributes');
      span.setAttributes(extra);
    }
    const route = trackRoute(exceptionRecorder(span));
    const instruments = httpServerInstruments();
    const slot = instruments.recording ? instruments.active(method, schemeOf(req)) : undefined;
    if (slot) slot.count++;
    const marked = req as IncomingMessage & { [LAYER_HOOKS]?: LayerHooks | undefined };
    marked[LAYER_HOOKS] = route;
    patchExpressLayers((req as { app?: unknown }).app);

    let ended = false;
    const end = (aborted: boolean) => {
      if (ended) return;
      ended = true;
      res.removeListener('finish', onFinish);
      res.removeListener('close', onClose);
      marked[LAYER_HOOKS] = undefined;
      if (slot) slot.count--;
      const template = route.route() ?? routeFromRequest(req);
      if (template !== undefined) {
        // instrumentation-http reads the route slot when the response closes:
        // it names the span and puts http.route on its duration record.
        metadata.route = template;
        span.setAttribute(ATTR_HTTP_ROUTE, template);
        span.updateName(`${method === '_OTHER' ? 'HTTP' : method} ${template}`);
      }
      if (aborted) {
        span.setAttribute(ATTR_ERROR_TYPE, ERROR_TYPE_ABORTED);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    };
    const onFinish = () => end(false);
    const onClose = () => end(!res.writableFinished);
    // Prepended: instrumentation-http ends its span and records the duration
    // on 'close', and it registered first; the route must be set before that.
    res.prependOnceListener('finish', onFinish);
    res.prependOnceListener('close', onClose);

    bind(context.active(), span);
  };
}
