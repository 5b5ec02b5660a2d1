import type { MeterProvider } from '@opentelemetry/api';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';

/**
 * Node.js runtime metrics (event loop delay and utilization, GC duration, heap
 * spaces) from `@opentelemetry/instrumentation-runtime-node`, recorded on
 * `provider` only. Returns the function that stops them.
 *
 * @example
 * const stop = startRuntimeMetrics(meterProvider);
 * stop();
 */
export function startRuntimeMetrics(provider: MeterProvider): () => void {
  // Created disabled: the base class enables itself in the constructor, on the
  // global meter provider, before this one could be set.
  const instrumentation = new RuntimeNodeInstrumentation({ enabled: false });
  instrumentation.setMeterProvider(provider);
  instrumentation.enable();
  return function stopRuntimeMetrics() {
    instrumentation.disable();
  };
}
