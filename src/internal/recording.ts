// Whether anything records what traceContext() would compute. With the
// OpenTelemetry API alone (no SDK registered), spans are non-recording and
// metric instruments are no-ops, so span attributes and the route template
// would be computed for nobody: about half of the per-request cost.
import { ProxyTracerProvider, trace } from '@opentelemetry/api';

// The API hands out one no-op provider; a fresh proxy without a delegate returns it.
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** True when a tracer provider is registered globally (checked per call: tests and setupTelemetry() swap it). */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  return delegate !== NOOP_TRACER_PROVIDER;
}
