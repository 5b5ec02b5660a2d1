import { context, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import { channel } from 'node:diagnostics_channel';
import { errorTypeOf, exceptionOf, messageOf } from '../internal/describe.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';
import { knownMethod } from '../internal/http-method.js';
import { redactQuery } from '../internal/url.js';
import { activePropagator } from './propagator.js';

type HeaderRecord = Record<string, string>;

// @opentelemetry/instrumentation-undici (on by default in a NodeSDK's
// auto-instrumentations) subscribes here, starts its own CLIENT span for every
// fetch and appends its traceparent to the request's headers: a header set by
// tracedFetch as well made the downstream service see two traceparents in one
// header and start a new trace (issue 15).
const UNDICI_REQUEST_CREATE = channel('undici:request:create');

/**
 * Returns `headers` plus the active context's `traceparent`, `tracestate` and
 * `baggage`, for any HTTP client (node:http, undici, axios, got).
 *
 * @example
 * http.get(url, { headers: outgoingHeaders({ accept: 'application/json' }) });
 */
export function outgoingHeaders<T extends Record<string, unknown> = HeaderRecord>(headers?: T): T & HeaderRecord {
  const out = { ...(headers ?? {}) } as T & HeaderRecord;
  activePropagator().inject(context.active(), out, {
    set(carrier: Record<string, unknown>, key, value) {
      carrier[key] = value;
    },
  });
  return out;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/**
 * `fetch` with a CLIENT span (HTTP client semantic conventions) and the
 * active context injected, so the next service continues the same trace.
 * Errors and responses are passed through unchanged. When a fetch
 * instrumentation listens on undici's `undici:request:create` channel (the
 * NodeSDK's instrumentation-undici), it starts the CLIENT span and injects
 * the headers itself, so tracedFetch only calls `fetch` in the active context:
 * one span and one `traceparent` per call either way.
 *
 * @example
 * const res = await tracedFetch('http://inventory/api/items/42');
 */
export async function tracedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (UNDICI_REQUEST_CREATE.hasSubscribers) return fetch(input, init);
  const request = new Request(input, init);
  const url = new URL(request.url);
  const method = knownMethod(request.method);
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_SERVER_ADDRESS]: url.hostname,
    [ATTR_SERVER_PORT]: url.port ? Number(url.port) : defaultPort(url.protocol),
    // With credential query values redacted (fetch refuses URLs with user:password).
    [ATTR_URL_FULL]: `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : `?${redactQuery(url.search.slice(1))}`}`,
  };
  const tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);
  const span = tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.CLIENT, attributes });
  const ctx = trace.setSpan(context.active(), span);
  activePropagator().inject(ctx, request.headers, {
    set(headers: Headers, key, value) {
      headers.set(key, value);
    },
  });
  try {
    const response = await context.with(ctx, () => fetch(request));
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
    if (response.status >= 400) {
      // For a client span every 4xx and 5xx is an error (HTTP span status rules).
      span.setAttribute(ATTR_ERROR_TYPE, String(response.status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    return response;
  } catch (error) {
    span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(error));
    span.recordException(exceptionOf(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
    throw error;
  } finally {
    span.end();
  }
}
