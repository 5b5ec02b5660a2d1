import {
  context,
  diag,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from '@opentelemetry/semantic-conventions';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ensureContextManager } from '../../src/context/context-manager.js';
import { createRequestState, requestContextOf } from '../../src/context/request-store.js';
import { describeValue } from '../../src/internal/describe.js';
import { knownMethod } from '../../src/internal/http-method.js';
import { randomSpanId, randomTraceId } from '../../src/internal/random-ids.js';
import { tracingEnabled } from '../../src/internal/recording.js';
import { TRACER_NAME, TRACER_VERSION } from '../../src/internal/tracer.js';
import { extractOrRoot } from '../../src/propagation/propagator.js';
import { httpServerInstruments, serverErrorType, type ActiveRequestSlot, type HttpServerInstruments } from '../../src/telemetry/http-server-metrics.js';
import { ensureLifecycleMetrics } from '../../src/telemetry/lifecycle-metrics.js';
import { requestAttributes, schemeOf } from './attributes.js';
import { createAdopter, instrumentationHttpMetadata } from './adopt.js';
import { emitIn } from './emit-in.js';
import { LAYER_HOOKS, patchExpressLayers, type LayerHooks } from './express-layers.js';
import { resolveTraceContextOptions, type ResolvedTraceContextOptions, type TraceContextOptions } from './options.js';
import { routeFromRequest, trackRoute } from './route.js';
import { exceptionRecorder } from './span-errors.js';

const HANDLED = Symbol.for('throughline.trace-context.handled');
// A request id is echoed into a response header and logs: accept only short,
// visible ASCII so a hostile value cannot inject anything.
const REQUEST_ID_RE = /^[\x21-\x7e]{1,128}$/;

type Next = (err?: unknown) => void;
type MarkedRequest = IncomingMessage & { [HANDLED]?: true; [LAYER_HOOKS]?: LayerHooks | undefined };

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

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
  ensureLifecycleMetrics();
  const tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);
  const adopt = createAdopter();

  return function traceContext(req: IncomingMessage, res: ServerResponse, next: Next): void {
    const marked = req as MarkedRequest;
    if (marked[HANDLED]) return next();
    marked[HANDLED] = true;

    const parent = extractParent(req, opts);
    const requestId = echoRequestId(req, res, opts.requestIdHeader);
    const tracing = tracingEnabled();
    const instruments = httpServerInstruments();
    // An ignored request, and every request when nothing records (the API
    // alone), needs only its context: the incoming span, or minted ids so logs
    // and outbound calls still correlate.
    if ((!tracing && !instruments.recording) || safe(opts.ignore, req, false, 'ignore')) {
      const incoming = trace.getSpan(parent.context);
      if (incoming !== undefined) bindRequest(parent.context, incoming, false, requestId, opts, req, res, next);
      else bindRequest(parent.context, mintSpan(), true, requestId, opts, req, res, next);
      return;
    }
    // Under a NodeSDK's instrumentation-http: enrich its SERVER span instead
    // of starting a second one (adopt.ts). Looked up first, so an ordinary
    // request builds neither the bind closure nor the adopter's argument:
    // 19,983 → 19,857 bytes/req (node --min-semi-space-size=256
    // --max-semi-space-size=256 bench/middleware-loop.mjs throughline-metrics
    // --app --bytes); its CPU time is within the loop's noise (±0.3 µs).
    const adoptable = instrumentationHttpMetadata();
    if (adoptable !== undefined) {
      const bind = (ctx: Context, span: Span) => bindRequest(ctx, span, false, requestId, opts, req, res, next);
      adopt(adoptable, { req, res, opts, trusted: parent.trusted, bind, safe });
      return;
    }

    const request = startRequest(tracer, marked, parent, tracing, instruments, opts);
    // 'finish' ends a completed request inside the write that finished it;
    // 'close' alone means the response was cut. A single 'close' listener
    // would do both, but 'close' is emitted from a later tick outside the
    // request's context, where emitIn() would enter the context for it;
    // removed at 'finish', it leaves 'close' without listeners.
    const onFinish = () => endRequest(request, req, res, false);
    const onClose = () => endRequest(request, req, res, !res.writableFinished);
    request.onFinish = onFinish;
    request.onClose = onClose;
    // Registered before binding: these two need no context. `on`, not
    // `once`: endRequest() removes both itself, and `once` wrapped each in a
    // state object and a bound function (12,469 → 12,093 bytes a traced
    // request, `bench/middleware-loop.mjs throughline-metrics --bytes`).
    res.on('finish', onFinish);
    res.on('close', onClose);
    // startServerSpan() checked the span's ids.
    bindRequest(parent.context, request.span, true, requestId, opts, req, res, next);
  };
}

// --- Step 1: the parent context -------------------------------------------

interface Parent {
  readonly context: Context;
  /** Set when the caller is not trusted: the new trace links to the caller's span. */
  readonly links: Link[] | undefined;
  /** Whether `trustIncoming` accepted the caller's context. */
  readonly trusted: boolean;
}

function extractParent(req: IncomingMessage, opts: ResolvedTraceContextOptions): Parent {
  const extracted = extractOrRoot(req.headers, headerGetter, 'the request headers');
  const trust = opts.trustIncoming;
  if (trust === true || (trust !== false && safe(trust, req, true, 'trustIncoming'))) return { context: extracted, links: undefined, trusted: true };
  const remote = trace.getSpanContext(extracted);
  return { context: ROOT_CONTEXT, links: remote && isSpanContextValid(remote) ? [{ context: remote }] : undefined, trusted: false };
}

function echoRequestId(req: IncomingMessage, res: ServerResponse, header: string | false): string | undefined {
  if (header === false) return undefined;
  const incoming = req.headers[header];
  const id = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
  res.setHeader(header, id);
  return id;
}

// Without a tracer provider the API hands back a span with an invalid context
// for a request that carries no traceparent. Mint ids anyway, so logs and
// outbound calls of the request still correlate (flags 00: nothing recorded).
function mintSpan(): Span {
  return trace.wrapSpanContext({ traceId: randomTraceId(), spanId: randomSpanId(), traceFlags: 0 });
}

// --- Step 2: the server span and what ends it -------------------------------

// One traced request, from its span's start to its end. Constructed, not an
// object literal, for the reason RequestStateRecord is (src/context/request-store.ts):
// V8 pretenures a literal's allocation site once it sees the site's objects
// survive young-generation collections, which a handler awaiting I/O makes
// them do, and a dead record in the old generation then keeps its request's
// span alive through every scavenge until the next full GC. The listeners are
// two fields, not an array literal, for the same reason; the route tracker
// (route.ts) is a class too. Measured together, Express 4 spans + metrics, the
// route awaiting 200 ms at 1,000 connections (`BENCH_HANDLER_DELAY_MS=200 npm
// run bench:gc -- throughline-metrics-e4 --connections=1000`): 7.7–8.2 MB
// promoted per scavenge as literals, 1.8–1.9 MB constructed (the floor
// 1.1–1.7); scavenge pauses 17–25 µs a request, 12–14 (bench/findings.md,
// "handlers that await").
class RequestRecord {
  declare readonly span: Span;
  /** `GET`, …, or `_OTHER`. */
  declare readonly method: string;
  declare readonly startedAt: number;
  declare readonly route: ReturnType<typeof trackRoute>;
  declare readonly instruments: HttpServerInstruments;
  /** The in-flight count this request is in; undefined when metrics record nothing. */
  declare readonly active: ActiveRequestSlot | undefined;
  declare ended: boolean;
  declare onFinish: (() => void) | undefined;
  declare onClose: (() => void) | undefined;
  constructor(
    span: Span,
    method: string,
    startedAt: number,
    route: ReturnType<typeof trackRoute>,
    instruments: HttpServerInstruments,
    active: ActiveRequestSlot | undefined,
  ) {
    this.span = span;
    this.method = method;
    this.startedAt = startedAt;
    this.route = route;
    this.instruments = instruments;
    this.active = active;
    this.ended = false;
    this.onFinish = undefined;
    this.onClose = undefined;
  }
}

function startRequest(
  tracer: Tracer,
  req: MarkedRequest,
  parent: Parent,
  tracing: boolean,
  instruments: HttpServerInstruments,
  opts: ResolvedTraceContextOptions,
): RequestRecord {
  const method = knownMethod(req.method);
  const startedAt = performance.now();
  const scheme = schemeOf(req);
  const span = startServerSpan(tracer, req, method, scheme, parent, tracing, opts);
  // The tracker is also the request's layer hooks: one object, not two.
  const route = trackRoute(tracing ? exceptionRecorder(span) : undefined);
  const active = instruments.recording ? instruments.active(method, scheme) : undefined;
  if (active) active.count++;
  req[LAYER_HOOKS] = route;
  patchExpressLayers((req as { app?: unknown }).app);
  return new RequestRecord(span, method, startedAt, route, instruments, active);
}

function startServerSpan(
  tracer: Tracer,
  req: IncomingMessage,
  method: string,
  scheme: 'http' | 'https',
  parent: Parent,
  tracing: boolean,
  opts: ResolvedTraceContextOptions,
): Span {
  const spanOptions: SpanOptions = { kind: SpanKind.SERVER };
  if (tracing) {
    const attributes: Attributes = requestAttributes(req, method, scheme);
    if (opts.spanAttributes) Object.assign(attributes, safe(opts.spanAttributes, req, {}, 'spanAttributes'));
    spanOptions.attributes = attributes;
  }
  if (parent.links) spanOptions.links = parent.links;
  const span = tracer.startSpan(spanName(method), spanOptions, parent.context);
  return isSpanContextValid(span.spanContext()) ? span : mintSpan();
}

const spanName = (method: string) => (method === '_OTHER' ? 'HTTP' : method);

// --- Step 3: bind the request's context -------------------------------------

/**
 * Runs the rest of the chain in `parent` with `span` active and the request's
 * state beside it. `valid`: the caller has checked (or minted) `span`'s ids.
 */
function bindRequest(
  parent: Context,
  span: Span,
  valid: boolean,
  requestId: string | undefined,
  opts: ResolvedTraceContextOptions,
  req: IncomingMessage,
  res: ServerResponse,
  next: Next,
): void {
  const spanContext = span.spanContext();
  if (opts.serverTiming) res.setHeader('server-timing', serverTimingTrace(spanContext));
  const checked = valid || isSpanContextValid(spanContext) ? spanContext : undefined;
  const ctx = requestContextOf(parent, span, createRequestState(requestId, span, checked));
  emitIn(ctx, req);
  emitIn(ctx, res);
  context.with(ctx, next);
}

/** The W3C Trace Context `server-timing` metric: `trace;desc=00-<trace-id>-<span-id>-<flags>`. */
function serverTimingTrace(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `trace;desc=00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

// --- Step 4: end the request, exactly once ----------------------------------

function endRequest(request: RequestRecord, req: MarkedRequest, res: ServerResponse, aborted: boolean): void {
  if (request.ended) return;
  request.ended = true;
  res.removeListener('finish', request.onFinish!);
  res.removeListener('close', request.onClose!);
  // Assigned, not deleted: a delete would turn the request object into a slow dictionary-mode object.
  req[LAYER_HOOKS] = undefined;
  const { span, method, active } = request;
  const status = res.statusCode;
  const template = request.route.route() ?? routeFromRequest(req);
  const errorType = serverErrorType(status, aborted);
  const statusSent = !aborted || res.headersSent;
  if (template !== undefined) {
    span.setAttribute(ATTR_HTTP_ROUTE, template);
    span.updateName(`${spanName(method)} ${template}`);
  }
  if (statusSent) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (errorType !== undefined) {
    span.setAttribute(ATTR_ERROR_TYPE, errorType);
    // Server spans: 5xx and aborted requests are errors, 4xx is the client's fault.
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
  if (active === undefined) return;
  active.count--;
  const attributes = active.durationAttributes(template, statusSent ? status : undefined, aborted);
  request.instruments.duration.record((performance.now() - request.startedAt) / 1000, attributes);
}

// An option's callback, called with the request: passed with its argument
// rather than as a closure, so an ordinary request allocates none.
function safe<T>(fn: (req: IncomingMessage) => T, req: IncomingMessage, fallback: T, option: string): T {
  try {
    return fn(req);
  } catch (error) {
    diag.error(`throughline: traceContext option \`${option}\` threw; using ${describeValue(fallback)}`, error);
    return fallback;
  }
}
