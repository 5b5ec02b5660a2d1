// What every variant shares: the route's work and the span sink, so variants
// differ only in the instrumentation under test.
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { setTimeout as delay } from 'node:timers/promises';

// BENCH_HANDLER_DELAY_MS=<ms>: every Express variant's route awaits that long
// before it answers, as a handler awaiting a database or a downstream call does.
// Requests then stay in flight across garbage collections, which is what decides
// whether V8 allocates their objects in the old generation (bench/findings.md,
// "handlers that await"). Unset: the route answers synchronously.
const HANDLER_DELAY_MS = positiveNumber('BENCH_HANDLER_DELAY_MS');
// BENCH_BSP_BATCH=<n>: the BatchSpanProcessor's maxExportBatchSize (SDK default
// 512): how many ended spans wait in its buffer before an export takes them.
const BSP_BATCH = positiveNumber('BENCH_BSP_BATCH');

function positiveNumber(name) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!(value > 0)) throw new TypeError(`${name} must be a positive number, got \`${raw}\``);
  return value;
}

/** The route's handler, awaiting BENCH_HANDLER_DELAY_MS first when it is set. */
export function awaiting(handler) {
  if (HANDLER_DELAY_MS === undefined) return handler;
  return async (req, res) => {
    await delay(HANDLER_DELAY_MS);
    handler(req, res);
  };
}

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
  const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor(BSP_BATCH === undefined ? { exporter } : { exporter, maxExportBatchSize: BSP_BATCH })] });
  return {
    provider,
    async spans() {
      await provider.forceFlush();
      return exporter.count();
    },
  };
}
