import {
  createContextKey,
  isSpanContextValid,
  trace,
  type Context,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { trimOws } from './ows.js';
import { parseTraceState } from './trace-state.js';

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/** Bit 0: the caller may have recorded trace data. */
export const FLAG_SAMPLED = 0x01;
/** Bit 1 (Trace Context Level 2): the trace id's right 7 bytes are random. */
export const FLAG_RANDOM = 0x02;
const KNOWN_FLAGS = FLAG_SAMPLED | FLAG_RANDOM;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX2 = /^[0-9a-f]{2}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);

/**
 * A `traceparent` longer than this restarts the trace unread. Version 00 is
 * exactly 55 characters; a future version may append fields after a dash, and
 * a non-HTTP carrier may keep surrounding spaces: 512 leaves more than 400
 * characters for both. No specification draft so far (Level 2, Level 3) adds
 * a field, so only hostile or broken values are refused.
 */
export const MAX_TRACEPARENT_LENGTH = 512;

// The random flag lives on the trace, not the span: the SDK builds child span
// contexts with the sampled bit only, so remember which trace id arrived with
// it and put it back on every outgoing header of that trace.
const RANDOM_TRACE_KEY = createContextKey('throughline.random-trace-id');

/** The fields of a valid `traceparent`, as the specification defines them. */
export interface ParsedTraceparent {
  readonly version: string;
  readonly traceId: string;
  readonly parentId: string;
  readonly traceFlags: number;
}

/**
 * Parses a `traceparent` value by the specification's processing rules, or
 * returns `undefined` when the trace must restart: version `ff`, a version
 * that is not two lowercase hex digits, version 00 with anything but exactly
 * 55 characters, a future version shorter than 55 characters or not followed
 * by `-`, upper-case or non-hex ids, all-zero ids, or a value longer than
 * {@link MAX_TRACEPARENT_LENGTH} (512) characters. Surrounding spaces and tabs
 * (HTTP optional whitespace) are ignored. Never throws; linear in the
 * header's length, which is checked before anything else.
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.traceId;
 * // '4bf92f3577b34da6a3ce929d0e0e4736'
 */
export function parseTraceparent(header: string): ParsedTraceparent | undefined {
  if (typeof header !== 'string' || header.length > MAX_TRACEPARENT_LENGTH) return undefined;
  const value = trimOws(header);
  const version = value.slice(0, 2);
  if (!HEX2.test(version) || version === 'ff' || value[2] !== '-') return undefined;
  if (version === '00' ? value.length !== 55 : value.length < 55 || (value.length > 55 && value[55] !== '-')) {
    return undefined;
  }
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (value[35] !== '-' || value[52] !== '-') return undefined;
  if (!HEX32.test(traceId) || !HEX16.test(parentId) || !HEX2.test(flags)) return undefined;
  if (traceId === ZERO32 || parentId === ZERO16) return undefined;
  return { version, traceId, parentId, traceFlags: parseInt(flags, 16) };
}

function single(getter: TextMapGetter, carrier: unknown, key: string): string | undefined {
  const value = getter.get(carrier, key);
  // Two traceparent headers are ambiguous; the conformance suite restarts the trace.
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

function combined(getter: TextMapGetter, carrier: unknown, key: string): string | undefined {
  const value = getter.get(carrier, key);
  // RFC 7230 §3.2.2: several tracestate fields are one comma-separated list.
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * A W3C Trace Context propagator that follows the specification to the
 * letter, including the tracestate discard rules and the Level 2 random flag.
 * Use it in place of `W3CTraceContextPropagator` from `@opentelemetry/core`.
 *
 * @example
 * propagation.setGlobalPropagator(new CompositePropagator({
 *   propagators: [createW3CTraceContextPropagator(), new W3CBaggagePropagator()],
 * }));
 */
export function createW3CTraceContextPropagator(): TextMapPropagator {
  return {
    inject(ctx: Context, carrier: unknown, setter: TextMapSetter) {
      const spanContext = trace.getSpanContext(ctx);
      if (!spanContext || isTracingSuppressed(ctx) || !isSpanContextValid(spanContext)) return;
      let flags = spanContext.traceFlags & KNOWN_FLAGS;
      if (ctx.getValue(RANDOM_TRACE_KEY) === spanContext.traceId) flags |= FLAG_RANDOM;
      setter.set(carrier, TRACEPARENT, `00-${spanContext.traceId}-${spanContext.spanId}-0${flags.toString(16)}`);
      const state = spanContext.traceState?.serialize();
      if (state) setter.set(carrier, TRACESTATE, state);
    },
    extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
      const header = single(getter, carrier, TRACEPARENT);
      if (header === undefined) return ctx;
      const parsed = parseTraceparent(header);
      if (parsed === undefined) return ctx;
      const spanContext: SpanContext = {
        traceId: parsed.traceId,
        spanId: parsed.parentId,
        // Unknown bits are reserved: "Vendors MUST set those to zero".
        traceFlags: parsed.traceFlags & KNOWN_FLAGS,
        isRemote: true,
      };
      // Only after a valid traceparent: "If the vendor failed to parse
      // traceparent, it MUST NOT attempt to parse tracestate."
      const stateHeader = combined(getter, carrier, TRACESTATE);
      const traceState = stateHeader === undefined ? undefined : parseTraceState(stateHeader);
      if (traceState !== undefined) spanContext.traceState = traceState;
      let next = trace.setSpanContext(ctx, spanContext);
      if (parsed.traceFlags & FLAG_RANDOM) next = next.setValue(RANDOM_TRACE_KEY, parsed.traceId);
      return next;
    },
    fields() {
      return [TRACEPARENT, TRACESTATE];
    },
  };
}
