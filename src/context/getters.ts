import { context, isSpanContextValid, trace, TraceFlags, type Span, type SpanContext } from '@opentelemetry/api';
import { OutsideContextError } from '../errors.js';
import { getRequestState, requestSpan } from './request-store.js';

/** The identifiers of the active trace, as returned by {@link getTraceContext}. */
export interface TraceContextInfo {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  /**
   * 16 lowercase hex characters: the active span, or the request's SERVER
   * span where the active one is a per-layer span of instrumentation-router,
   * -express or -connect.
   */
  readonly spanId: string;
  /** W3C trace flags as a number (bit 0: sampled). */
  readonly traceFlags: number;
  /** Whether the active span is sampled. */
  readonly sampled: boolean;
  /** The request id of the enclosing request, when there is one. */
  readonly requestId: string | undefined;
}

/**
 * The active trace's ids, or `undefined` outside any traced context.
 *
 * @example
 * const ids = tryGetTraceContext();
 * if (ids) res.setHeader('x-trace-id', ids.traceId);
 */
export function tryGetTraceContext(): TraceContextInfo | undefined {
  const ctx = context.active();
  const state = getRequestState(ctx);
  const span = requestSpan(ctx, state);
  if (span === undefined) return undefined;
  let spanContext: SpanContext | undefined = span === state?.span ? state.spanContext : undefined;
  if (spanContext === undefined) {
    spanContext = span.spanContext();
    if (!isSpanContextValid(spanContext)) return undefined;
  }
  return {
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
    traceFlags: spanContext.traceFlags,
    sampled: (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0,
    requestId: state?.requestId,
  };
}

/**
 * The active trace's ids. Throws {@link OutsideContextError} outside a traced
 * context: use it where a missing trace is a bug.
 *
 * @example
 * app.get('/whoami', (_req, res) => { res.json({ traceId: getTraceContext().traceId }); });
 */
export function getTraceContext(): TraceContextInfo {
  const info = tryGetTraceContext();
  if (info === undefined) throw new OutsideContextError('getTraceContext()');
  return info;
}

/**
 * The active span, or `undefined` when none is active.
 *
 * @example
 * activeSpan()?.setAttribute('order.id', order.id);
 */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

/** Log correlation fields, named as the OpenTelemetry logs data model names them. */
export interface LogFields {
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
}

/**
 * Fields that put a log line on the active trace; `{}` outside one. Made for
 * pino's `mixin` and winston's `format`.
 *
 * @example
 * const logger = pino({ mixin: logFields });
 */
export function logFields(): LogFields {
  const info = tryGetTraceContext();
  if (info === undefined) return {};
  return {
    trace_id: info.traceId,
    span_id: info.spanId,
    trace_flags: info.traceFlags.toString(16).padStart(2, '0'),
  };
}
