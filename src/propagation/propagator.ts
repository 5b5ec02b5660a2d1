import { diag, propagation, ROOT_CONTEXT, type Context, type TextMapGetter, type TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import { processState } from '../internal/state.js';
import { createW3CTraceContextPropagator } from './w3c-trace-context.js';

const BAGGAGE = 'baggage';

/**
 * An incoming `baggage` header is cut to its first 8192 characters and 180
 * list-members before it is parsed. W3C Baggage requires propagating at least
 * 64 members and 8192 bytes and lets members beyond that be dropped; its
 * grammar allows 180 members (`list-member 0*179( OWS "," OWS list-member )`).
 * Whole members are kept (the cut is at a comma), which is what
 * `@opentelemetry/core` keeps too: it stops adding members at the same limits
 * but reads the rest of the header (up to 16 KiB from Node) to get there.
 */
export const MAX_BAGGAGE_LENGTH = 8192;
/** See {@link MAX_BAGGAGE_LENGTH}. */
export const MAX_BAGGAGE_MEMBERS = 180;

/** The longest prefix of `value` that is whole list-members within both limits. */
export function boundBaggage(value: string): string {
  let members = 1;
  let lastComma = -1;
  let comma = value.indexOf(',');
  while (comma !== -1 && comma <= MAX_BAGGAGE_LENGTH) {
    if (members === MAX_BAGGAGE_MEMBERS) return value.slice(0, comma);
    members++;
    lastComma = comma;
    comma = value.indexOf(',', comma + 1);
  }
  if (value.length <= MAX_BAGGAGE_LENGTH) return value;
  return lastComma === -1 ? '' : value.slice(0, lastComma);
}

const fixedGetter: TextMapGetter<string> = {
  get: (carrier) => carrier,
  keys: () => [BAGGAGE],
};

/**
 * `W3CBaggagePropagator` from `@opentelemetry/core`, with the incoming header
 * cut by {@link boundBaggage} before it is parsed, so 16,000 commas cost what
 * 180 do.
 */
function createBoundedBaggagePropagator(): TextMapPropagator {
  const inner = new W3CBaggagePropagator();
  return {
    inject(ctx, carrier, setter) {
      inner.inject(ctx, carrier, setter);
    },
    extract(ctx, carrier, getter) {
      const raw = getter.get(carrier, BAGGAGE);
      if (raw === undefined) return ctx;
      // Repeated fields are one comma-separated list (RFC 9110 §5.3).
      const value = boundBaggage(Array.isArray(raw) ? raw.join(',') : raw);
      return value === '' ? ctx : inner.extract(ctx, value, fixedGetter);
    },
    fields() {
      return inner.fields();
    },
  };
}

/**
 * W3C Trace Context (this library's strict implementation) + W3C Baggage
 * (`@opentelemetry/core`'s, reading at most 8192 characters and 180 members): what
 * `setupTelemetry()` registers and what throughline uses when nothing is
 * registered.
 *
 * @example
 * propagation.setGlobalPropagator(createDefaultPropagator());
 */
export function createDefaultPropagator(): TextMapPropagator {
  return new CompositePropagator({
    propagators: [createW3CTraceContextPropagator(), createBoundedBaggagePropagator()],
  });
}

/**
 * The globally registered propagator, or the default one when the global is
 * still the API's no-op (which has no fields), so throughline works standalone
 * without registering anything process-wide on its own.
 */
export function activePropagator(): TextMapPropagator {
  if (propagation.fields().length > 0) return propagation;
  const state = processState();
  return (state.fallbackPropagator ??= createDefaultPropagator());
}

/**
 * The context `carrier` describes, on top of the empty context. A propagator
 * that throws (a third-party one registered globally) must not fail the
 * request or the message: the empty context is returned, so a new trace starts,
 * and the failure is logged.
 */
export function extractOrRoot<C>(carrier: C, getter: TextMapGetter<C>, what: string): Context {
  try {
    return activePropagator().extract(ROOT_CONTEXT, carrier, getter);
  } catch (error) {
    diag.warn(`throughline: could not extract a context from ${what}; starting a new trace`, error);
    return ROOT_CONTEXT;
  }
}
