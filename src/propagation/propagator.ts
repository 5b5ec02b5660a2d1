import { diag, propagation, ROOT_CONTEXT, type Context, type TextMapGetter, type TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import { processState } from '../internal/state.js';
import { createW3CTraceContextPropagator } from './w3c-trace-context.js';

/**
 * W3C Trace Context (this library's strict implementation) + W3C Baggage:
 * what `setupTelemetry()` registers and what throughline uses when nothing is
 * registered.
 */
export function createDefaultPropagator(): TextMapPropagator {
  return new CompositePropagator({
    propagators: [createW3CTraceContextPropagator(), new W3CBaggagePropagator()],
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
