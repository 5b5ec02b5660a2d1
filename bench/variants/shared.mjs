// What every variant shares: the route's work and the span sink, so variants
// differ only in the instrumentation under test.
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/** The small JSON a GET /users/:id answers in every variant. */
export function userBody(id, requestId) {
  return { id, name: `user-${id}`, plan: 'pro', requestId };
}

/**
 * An exporter that only counts: the bench measures the instrumentation and
 * the BatchSpanProcessor, not serialization or a network hop.
 */
export function countingExporter() {
  let spans = 0;
  return {
    export(batch, done) {
      spans += batch.length;
      done({ code: 0 });
    },
    async shutdown() {},
    async forceFlush() {},
    count: () => spans,
  };
}

/** A real SDK tracer provider with a BatchSpanProcessor over a counting exporter. */
export function countingTracerProvider() {
  const exporter = countingExporter();
  const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
  return {
    provider,
    async spans() {
      await provider.forceFlush();
      return exporter.count();
    },
  };
}
