import {
  context,
  diag,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ensureContextManager } from '../../src/context/context-manager.js';
import { createRequestState, setRequestState } from '../../src/context/request-store.js';
import { knownMethod } from '../../src/internal/http-method.js';
import { TRACER_NAME, TRACER_VERSION } from '../../src/internal/tracer.js';
import { activePropagator } from '../../src/propagation/propagator.js';
import { httpServerInstruments } from '../../src/telemetry/http-server-metrics.js';
import { requestAttributes, schemeOf } from './attributes.js';
import { ERROR_SINK, patchExpressLayers } from './express-errors.js';
import { resolveTraceContextOptions, type TraceContextOptions } from './options.js';
import { trackRoute } from './route.js';

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
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
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
    const marked = req as IncomingMessage & { [HANDLED]?: true; [ERROR_SINK]?: (error: unknown) => void };
    if (marked[HANDLED]) return next();
    marked[HANDLED] = true;

    let parent: Context;
    let links: Link[] | undefined;
    const extracted = activePropagator().extract(ROOT_CONTEXT, req.headers, headerGetter);
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

    if (safe(() => opts.ignore(req), false, 'ignore')) {
      const withSpan = trace.getSpanContext(parent) ? parent : trace.setSpan(parent, mintSpan());
      bindAndContinue(setRequestState(withSpan, state), req, res, next);
      return;
    }

    const method = knownMethod(req.method);
    const startedAt = performance.now();
    const attributes = requestAttributes(req, method);
    if (opts.spanAttributes) Object.assign(attributes, safe(() => opts.spanAttributes!(req), {}, 'spanAttributes'));
    const span = ensureValidSpan(
      tracer.startSpan(
        method === '_OTHER' ? 'HTTP' : method,
        links ? { kind: SpanKind.SERVER, attributes, links } : { kind: SpanKind.SERVER, attributes },
        parent,
      ),
    );
    const route = trackRoute(req);
    const instruments = httpServerInstruments();
    const scheme = schemeOf(req);
    const activeAttributes = { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_SCHEME]: scheme };
    instruments.active.add(1, activeAttributes);

    const recorded = new Set<unknown>();
    marked[ERROR_SINK] = (error) => {
      if (recorded.has(error)) return;
      recorded.add(error);
      if (error instanceof Error) span.recordException(error);
      else span.recordException({ name: 'NonErrorThrown', message: String(error) });
    };

    let ended = false;
    const end = (aborted: boolean) => {
      if (ended) return;
      ended = true;
      res.removeListener('finish', onFinish);
      res.removeListener('close', onClose);
      delete marked[ERROR_SINK];
      const status = res.statusCode;
      const template = route.route();
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
      instruments.active.add(-1, activeAttributes);
      const metricAttributes: Record<string, string | number> = { ...activeAttributes };
      if (template !== undefined) metricAttributes[ATTR_HTTP_ROUTE] = template;
      if (!aborted || res.headersSent) metricAttributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
      if (errorType !== undefined) metricAttributes[ATTR_ERROR_TYPE] = errorType;
      instruments.duration.record((performance.now() - startedAt) / 1000, metricAttributes);
    };
    const onFinish = () => end(false);
    const onClose = () => end(!res.writableFinished);
    // Registered before binding: these two need no context, and stay unwrapped.
    res.once('finish', onFinish);
    res.once('close', onClose);

    patchExpressLayers((req as { app?: unknown }).app);
    bindAndContinue(setRequestState(trace.setSpan(parent, span), state), req, res, next);
  };
}

function bindAndContinue(ctx: Context, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  // Body parsers resume the chain from req's 'data'/'end' events, which Node
  // emits in the socket's async context, not ours. Binding the emitters makes
  // every listener added from here on run in the request's context.
  context.bind(ctx, req);
  context.bind(ctx, res);
  context.with(ctx, next);
}

function safe<T>(fn: () => T, fallback: T, option: string): T {
  try {
    return fn();
  } catch (error) {
    diag.error(`throughline: traceContext option \`${option}\` threw; using ${String(fallback)}`, error);
    return fallback;
  }
}
