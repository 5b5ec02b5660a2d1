import { context, diag, DiagLogLevel, metrics, propagation, trace, type DiagLogger } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { ensureContextManager } from '../../src/context/context-manager.js';

/** A real SDK tracer provider with an in-memory exporter, registered globally. */
export interface TestTracing {
  readonly exporter: InMemorySpanExporter;
  readonly provider: TracerProvider;
  spans(): ReadableSpan[];
  /** Spans named `name`, failing loudly when the count differs. */
  spansNamed(name: string): ReadableSpan[];
  reset(): void;
  shutdown(): Promise<void>;
}

export function installTracing(): TestTracing {
  ensureContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  trace.disable();
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    provider,
    spans: () => exporter.getFinishedSpans(),
    spansNamed: (name) => exporter.getFinishedSpans().filter((s) => s.name === name),
    reset: () => exporter.reset(),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
    },
  };
}

/** A fresh meter provider with a manual reader, registered globally. */
export interface TestMetrics {
  readonly provider: MeterProvider;
  collect(): Promise<ResourceMetrics>;
  shutdown(): Promise<void>;
}

class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export function installMetrics(): TestMetrics {
  const reader = new ManualReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const provider = new MeterProvider({ readers: [reader] });
  metrics.disable();
  metrics.setGlobalMeterProvider(provider);
  return {
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      return resourceMetrics;
    },
    async shutdown() {
      await provider.shutdown();
      metrics.disable();
    },
  };
}

/** Forget globally registered propagators so a test sees throughline's defaults. */
export function resetPropagation(): void {
  propagation.disable();
}

/** The active context must be back to ROOT between tests: nothing leaked. */
export function activeIsRoot(): boolean {
  return trace.getSpan(context.active()) === undefined;
}

export { InMemoryMetricExporter, PeriodicExportingMetricReader };

/**
 * Mocha hooks for a suite: throughline's default propagation and a fresh
 * in-memory tracer provider before each test (`'each'`) or once (`'all'`),
 * shut down after. The returned handle always speaks for the current provider.
 */
export function useTracing(scope: 'each' | 'all' = 'each'): TestTracing {
  let current: TestTracing | undefined;
  const live = () => {
    if (current === undefined) throw new Error('useTracing(): no tracer provider outside a test');
    return current;
  };
  (scope === 'each' ? beforeEach : before)(() => {
    resetPropagation();
    current = installTracing();
  });
  (scope === 'each' ? afterEach : after)(async () => {
    await current?.shutdown();
    current = undefined;
  });
  return {
    get exporter() {
      return live().exporter;
    },
    get provider() {
      return live().provider;
    },
    spans: () => live().spans(),
    spansNamed: (name) => live().spansNamed(name),
    reset: () => live().reset(),
    shutdown: () => live().shutdown(),
  };
}

/** Collects the OpenTelemetry diag logger's errors and warnings until `diag.disable()`. */
export function captureDiag(): { errors: string[]; warnings: string[] } {
  const seen = { errors: [] as string[], warnings: [] as string[] };
  const logger: DiagLogger = {
    error: (m) => seen.errors.push(m),
    warn: (m) => seen.warnings.push(m),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return seen;
}
