import {
  context,
  diag,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Attributes,
  type Link,
  type Span,
  type SpanOptions,
  type TextMapGetter,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from '@opentelemetry/semantic-conventions';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ensureContextManager } from '../../src/context/context-manager.js';
import { createRequestState, setRequestState } from '../../src/context/request-store.js';
import { describeValue, exceptionOf } from '../../src/internal/describe.js';
import { knownMethod } from '../../src/internal/http-method.js';
import { randomSpanId, randomTraceId } from '../../src/internal/random-ids.js';
import { tracingEnabled } from '../../src/internal/recording.js';
import { TRACER_NAME, TRACER_VERSION } from '../../src/internal/tracer.js';
import { extractOrRoot } from '../../src/propagation/propagator.js';
import { httpServerInstruments } from '../../src/telemetry/http-server-metrics.js';
import { requestAttributes, schemeOf } from './attributes.js';
import { LAYER_HOOKS, patchExpressLayers, type LayerHooks } from './express-layers.js';
import { resolveTraceContextOptions, type TraceContextOptions } from './options.js';
import { routeFromRequest, trackRoute } from './route.js';

/** `error.type` of a request whose client went away before the response finished. */
export const ERROR_TYPE_ABORTED = 'aborted';

const HANDLED = Symbol.for('throughline.trace-context.handled');
// A request id is echoed into a response header and logs: accept only short,
// visible ASCII so a hostile value cannot inject anything.
const REQUEST_ID_RE = /^[\x21-\x7e]{1,128}$/;

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

function requestIdFor(req: IncomingMessage, header: string | false): string | undefined {
  if (header === false) return undefined;
  const incoming = req.headers[header];
  return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
}

// Without a tracer provider the API hands back a span with an invalid context
// for a request that carries no traceparent. Mint ids anyway, so logs and
// outbound calls of the request still correlate (flags 00: nothing recorded).
function mintSpan(): Span {
  return trace.wrapSpanContext({
    traceId: randomTraceId(),
    spanId: randomSpanId(),
    traceFlags: 0,
  });
}

function ensureValidSpan(span: Span): Span {
  return isSpanContextValid(span.spanContext()) ? span : mintSpan();
}

/**
 * Express middleware that puts every request on its trace: extracts W3C Trace
 * Context and Baggage, starts a SERVER span (HTTP semantic conventions), and
 * binds it in AsyncLocalStorage for everything the request causes. Records
 * `http.server.request.duration` and `http.server.active_requests`.
 * Mount it first. Installing it twice is harmless: the second one passes through.
 *
 * @example
 * const app = express();
 * app.use(traceContext());
 * app.get('/users/:id', (req, res) => { res.json({ traceId: getTraceContext().traceId }); });
 */
export function traceContext(options?: TraceContextOptions) {
  const opts = resolveTraceContextOptions(options);
  ensureContextManager();
  const tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);

  return function traceContext(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    const marked = req as IncomingMessage & { [HANDLED]?: true; [LAYER_HOOKS]?: LayerHooks | undefined };
    if (marked[HANDLED]) return next();
    marked[HANDLED] = true;

    let parent: Context;
    let links: Link[] | undefined;
    const extracted = extractOrRoot(req.headers, headerGetter, 'the request headers');
    if (safe(() => opts.trustIncoming(req), true, 'trustIncoming')) {
      parent = extracted;
    } else {
      parent = ROOT_CONTEXT;
      const remote = trace.getSpanContext(extracted);
      if (remote && isSpanContextValid(remote)) links = [{ context: remote }];
    }

    const requestId = requestIdFor(req, opts.requestIdHeader);
    if (requestId !== undefined && opts.requestIdHeader !== false) res.setHeader(opts.requestIdHeader, requestId);
    const state = createRequestState(requestId);

    const tracing = tracingEnabled();
    const instruments = httpServerInstruments();
    // An ignored request, and every request when nothing records (the API
    // alone), needs only its context: the incoming span, or minted ids so logs
    // and outbound calls still correlate.
    if ((!tracing && !instruments.recording) || safe(() => opts.ignore(req), false, 'ignore')) {
      const withSpan = trace.getSpanContext(parent) ? parent : trace.setSpan(parent, mintSpan());
      bindAndContinue(setRequestState(withSpan, state), req, res, next);
      return;
    }

    const method = knownMethod(req.method);
    const startedAt = performance.now();
    const scheme = schemeOf(req);
    let attributes: Attributes | undefined;
    if (tracing) {
      attributes = requestAttributes(req, method, scheme);
      if (opts.spanAttributes) Object.assign(attributes, safe(() => opts.spanAttributes!(req), {}, 'spanAttributes'));
    }
    const spanOptions: SpanOptions = { kind: SpanKind.SERVER };
    if (attributes) spanOptions.attributes = attributes;
    if (links) spanOptions.links = links;
    const span = ensureValidSpan(tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, spanOptions, parent));
    const route = trackRoute();
    const active = instruments.recording ? instruments.active(method, scheme) : undefined;
    if (active) active.count++;

    let recorded: Set<unknown> | undefined;
    marked[LAYER_HOOKS] = {
      enter: route.enter,
      error: tracing
        ? (error) => {
            recorded ??= new Set();
            if (recorded.has(error)) return;
            recorded.add(error);
            span.recordException(exceptionOf(error));
          }
        : undefined,
    };
    patchExpressLayers((req as { app?: unknown }).app);

    let ended = false;
    const end = (aborted: boolean) => {
      if (ended) return;
      ended = true;
      res.removeListener('finish', onFinish);
      res.removeListener('close', onClose);
      // Assigned, not deleted: a delete would turn the request object into a slow dictionary-mode object.
      marked[LAYER_HOOKS] = undefined;
      const status = res.statusCode;
      const template = route.route() ?? routeFromRequest(req);
      const errorType = aborted ? ERROR_TYPE_ABORTED : status >= 500 ? String(status) : undefined;
      if (template !== undefined) {
        span.setAttribute(ATTR_HTTP_ROUTE, template);
        span.updateName(`${method === '_OTHER' ? 'HTTP' : method} ${template}`);
      }
      if (!aborted || res.headersSent) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (errorType !== undefined) {
        span.setAttribute(ATTR_ERROR_TYPE, errorType);
        // Server spans: 5xx and aborted requests are errors, 4xx is the client's fault.
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      if (active === undefined) return;
      active.count--;
      const metricAttributes: Record<string, string | number> = { ...active.attributes };
      if (template !== undefined) metricAttributes[ATTR_HTTP_ROUTE] = template;
      if (!aborted || res.headersSent) metricAttributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
      if (errorType !== undefined) metricAttributes[ATTR_ERROR_TYPE] = errorType;
      instruments.duration.record((performance.now() - startedAt) / 1000, metricAttributes);
    };
    const onFinish = () => end(false);
    const onClose = () => end(!res.writableFinished);
    // Registered before binding: these two need no context.
    res.once('finish', onFinish);
    res.once('close', onClose);

    bindAndContinue(setRequestState(trace.setSpan(parent, span), state), req, res, next);
  };
}

function bindAndContinue(ctx: Context, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  emitIn(ctx, req);
  emitIn(ctx, res);
  context.with(ctx, next);
}

// Node emits req's 'data'/'end'/'close' (body parsers resume the chain from
// them) and res's 'finish'/'close' from socket callbacks, in the socket's
// async context, not the request's (no trace at all, or an earlier request's
// when the socket was created inside one). Running the emitter's emit() in the request's
// context puts every listener there, whenever it was added. It costs one
// property and one closure; the API's context.bind(ctx, emitter) on both
// wraps six methods each and keeps listener maps, and measured about 10 µs a
// request more (bench/findings.md).
type Emit = (this: EventEmitter, event: string | symbol, ...args: unknown[]) => boolean;

function emitIn(ctx: Context, emitter: EventEmitter): void {
  const emit = (emitter as { emit: Emit }).emit;
  emitter.emit = function emitInRequestContext(this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
    // Entering a context costs a new async context frame: skip it for events
    // nobody listens to and for those already emitted in the request's context.
    if (this.listenerCount(event) === 0 || context.active() === ctx) return emit.call(this, event, ...args);
    return context.with(ctx, () => emit.call(this, event, ...args));
  };
}

function safe<T>(fn: () => T, fallback: T, option: string): T {
  try {
    return fn();
  } catch (error) {
    diag.error(`throughline: traceContext option \`${option}\` threw; using ${describeValue(fallback)}`, error);
    return fallback;
  }
}
