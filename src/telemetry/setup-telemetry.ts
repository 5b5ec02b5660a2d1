import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { diag, metrics, propagation, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import { ensureContextManager } from '../context/context-manager.js';
import { AlreadyInitializedError } from '../errors.js';
import { processState } from '../internal/state.js';
import { installStderrDiag } from '../internal/stderr-diag.js';
import {
  expectBoolean,
  expectNumber,
  expectOptionsObject,
  expectString,
  invalidOption,
  rejectUnknownKeys,
} from '../internal/validate.js';
import { createDefaultPropagator } from '../propagation/propagator.js';
import { ensureLifecycleMetrics } from './lifecycle-metrics.js';
import {
  closeMetricsServer,
  createMetricsHandler,
  createPrometheusReader,
  startMetricsServer,
  type MetricsHandler,
} from './metrics-endpoint.js';
import { startRuntimeMetrics } from './runtime-metrics.js';
import { createDeclaredSeries, DECLARE_ROUTES_DEFAULTS, expressRoutes, type DeclareRoutesOptions } from './declared-routes.js';
import { createScrapeTracker, type FinalScrapeResult } from './scrape-tracker.js';
import { INCOMING_SAMPLING, resolveSampler, type IncomingSampling } from './sampling.js';

// Still "development" in the semantic conventions, so not in the stable entry point.
const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';

/**
 * Options of {@link setupTelemetry}.
 *
 * @example
 * const options: SetupTelemetryOptions = { serviceName: 'orders', prometheus: { port: 9464 } };
 */
export interface SetupTelemetryOptions {
  /** `service.name` of the resource: the `job`-like identity of every metric and span. Required. */
  serviceName: string;
  /** `service.version` of the resource. Default: `$npm_package_version`, else `"unknown"`. */
  serviceVersion?: string;
  /** `service.instance.id` of the resource. Default: a random UUID per process (the semantic-convention advice). */
  serviceInstanceId?: string;
  /**
   * Serve the exposition at `/metrics` on its own port instead of (only) through
   * `metricsHandler`. Closed in `shutdown()`, after the HTTP server has drained.
   * Default: `undefined` (mount `metricsHandler` on an app route).
   */
  prometheus?: { port: number; host?: string };
  /**
   * Traces: `'otlp'` exports over OTLP/HTTP (`@opentelemetry/exporter-trace-otlp-http`,
   * configured by the standard `OTEL_EXPORTER_OTLP_*` environment variables), or
   * any `SpanExporter`; both behind a BatchSpanProcessor. Default: `undefined`
   * (no tracer provider is created or registered).
   */
  traceExporter?: SpanExporter | 'otlp';
  /**
   * Push metrics too: `'otlp'` adds a PeriodicExportingMetricReader with
   * `@opentelemetry/exporter-metrics-otlp-http` (configured by the standard
   * `OTEL_EXPORTER_OTLP_*` variables, e.g. `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`
   * and `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/json`), or any
   * `PushMetricExporter`. Its last export happens in `shutdown()` (the
   * `flushing` phase), after the last request: nothing waits for a scrape.
   * The Prometheus exposition stays available. Default: `undefined` (pull only).
   */
  metricsExporter?: PushMetricExporter | 'otlp';
  /** How often the push exporter exports. Default: `$OTEL_METRIC_EXPORT_INTERVAL`, else 60000 (the SDK's). */
  metricsExportIntervalMs?: number;
  /** Node.js runtime metrics (event loop delay and utilization, GC, heap) from `@opentelemetry/instrumentation-runtime-node`. Default: `true`. */
  runtimeMetrics?: boolean;
  /**
   * Which traces are recorded: a `Sampler` from `@opentelemetry/sdk-trace`
   * (`ParentBasedSampler`, `TraceIdRatioBasedSampler`, ...), used as is.
   * Default: the one the standard `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`
   * variables name (`always_on`, `always_off`, `traceidratio`,
   * `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`),
   * else `parentbased_always_on`. Needs `traceExporter`.
   */
  sampler?: Sampler;
  /**
   * What an incoming `traceparent`'s sampled flag decides. `'respect'`
   * (default): whatever `sampler` does with it (the default follows it).
   * `'ignore'`: the caller's trace id is kept but `sampler` decides as if this
   * service started the trace, so a public client can neither force
   * recording (`-01`) nor suppress it (`-00`); a ratio sampler still decides
   * by trace id, so services with the same ratio agree. Needs `traceExporter`.
   */
  incomingSampling?: IncomingSampling;
}

/**
 * Defaults of {@link setupTelemetry}; `serviceVersion` and `serviceInstanceId`
 * are computed per process, the other options are off unless given.
 *
 * @example
 * SETUP_TELEMETRY_DEFAULTS.runtimeMetrics; // true
 */
export const SETUP_TELEMETRY_DEFAULTS = {
  runtimeMetrics: true,
  incomingSampling: 'respect',
} as const satisfies Partial<SetupTelemetryOptions>;

/**
 * What {@link setupTelemetry} returns: hand it to `gracefulShutdown(server, { telemetry })`.
 *
 * @example
 * const telemetry: Telemetry = setupTelemetry({ serviceName: 'orders' });
 * process.once('beforeExit', () => void telemetry.shutdown());
 */
export interface Telemetry {
  /** The meter provider, also registered globally. */
  readonly meterProvider: MeterProvider;
  /** The tracer provider when `traceExporter` was given, also registered globally. */
  readonly tracerProvider?: TracerProvider;
  /** The Prometheus exposition as a node:http / Express handler: `app.get('/metrics', telemetry.metricsHandler)`. */
  readonly metricsHandler: MetricsHandler;
  /** The server of the `prometheus: { port }` option. */
  readonly metricsServer?: Server;
  /**
   * With `prometheus: { port }`: resolves once the metrics server listens,
   * rejects with a `MetricsServerListenError` naming the port when it cannot
   * (port taken: `EADDRINUSE`). The error is logged either way; await this to fail startup on it.
   */
  readonly metricsServerReady?: Promise<void>;
  /** The resource every metric and span carries. */
  readonly resource: Resource;
  /** Exports the spans still queued (and, with `metricsExporter`, the metrics). */
  forceFlush(): Promise<void>;
  /** How many scrapes of the exposition (either endpoint) have been served. */
  scrapes(): number;
  /**
   * A readiness check for `healthRoutes({ checks })`: throws until the first
   * scrape was served, or until `timeoutMs` (default {@link FIRST_SCRAPE_WAIT_MS})
   * after setupTelemetry() passed, so a pod nobody scrapes still turns ready.
   * Holding readiness on it makes Prometheus's first sample predate the first request.
   */
  firstScrapeCheck(options?: { timeoutMs?: number }): void;
  /**
   * Gives every route of an Express 4 or 5 `app` (its top-level `app.get()`…
   * routes; call it after defining them) a `http.server.request.duration`
   * series at zero from the first scrape on, for each of `statusCodes`
   * (default `[200]`), so rate() and increase() count the first requests too.
   * Returns the routes declared. Prometheus exposition only.
   */
  declareRoutes(app: unknown, options?: DeclareRoutesOptions): { method: string; route: string }[];
  /**
   * Resolves once the first scrape has been served: hold readiness on it
   * (`healthRoutes({ telemetry })`) so the first sample Prometheus stores
   * predates the first request.
   */
  firstScrape(): Promise<void>;
  /**
   * Waits, up to `timeoutMs`, for a scrape that starts after this call, and
   * keeps an endpoint open for it: the `prometheus: { port }` server, or a
   * metrics-only listener on the app port the scrapes came through.
   * gracefulShutdown() calls it at the start of `flushing`
   * (`finalScrapeTimeoutMs`). `skipped` at once when the process was never scraped.
   */
  awaitFinalScrape(options: { timeoutMs: number }): Promise<FinalScrapeResult>;
  /**
   * Flushes and shuts down the providers, closes the metrics server, stops the
   * lifecycle and runtime metrics and unregisters the globals, so
   * `setupTelemetry()` may be called again. Idempotent: a second call returns the first promise.
   */
  shutdown(): Promise<void>;
}

const KNOWN = [
  'serviceName',
  'serviceVersion',
  'serviceInstanceId',
  'prometheus',
  'traceExporter',
  'metricsExporter',
  'metricsExportIntervalMs',
  'runtimeMetrics',
  'sampler',
  'incomingSampling',
];

/**
 * How long `telemetry.firstScrapeCheck()` holds readiness at most, from
 * setupTelemetry(): the longest common scrape interval (Prometheus's default 1 m).
 *
 * @example
 * FIRST_SCRAPE_WAIT_MS; // 60000
 */
export const FIRST_SCRAPE_WAIT_MS = 60_000;

// How long shutdown() lets a scrape in progress finish on the metrics server.
const METRICS_SERVER_GRACE_MS = 1000;

/**
 * Wires OpenTelemetry for an Express service in one call: the
 * AsyncLocalStorage context manager, W3C Trace Context + Baggage propagators,
 * a MeterProvider read by the Prometheus exporter (with `service.name`,
 * `service.version`, `service.instance.id`), lifecycle metrics, optional
 * runtime metrics and an optional tracer provider. Everything is registered
 * globally here, never at import time. Throws {@link AlreadyInitializedError}
 * when called again before `shutdown()`.
 *
 * @example
 * const telemetry = setupTelemetry({ serviceName: 'orders', traceExporter: 'otlp' });
 * app.get('/metrics', telemetry.metricsHandler);
 * gracefulShutdown(server, { telemetry });
 */
export function setupTelemetry(options: SetupTelemetryOptions): Telemetry {
  const opts = validate(options);
  if (processState().telemetry !== undefined) {
    throw new AlreadyInitializedError(
      'setupTelemetry() was already called in this process. Keep the handle it returned and pass it around ' +
        '(for example to gracefulShutdown(server, { telemetry })), or call its shutdown() before setting up again.',
    );
  }

  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: opts.serviceName,
    [ATTR_SERVICE_VERSION]: opts.serviceVersion,
    [ATTR_SERVICE_INSTANCE_ID]: opts.serviceInstanceId,
  });
  const setUpAt = performance.now();
  const reader = createPrometheusReader();
  const declaredSeries = createDeclaredSeries(reader);
  const readers: IMetricReader[] = [reader];
  if (opts.metricsExporter !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: opts.metricsExporter === 'otlp' ? new OTLPMetricExporter() : opts.metricsExporter,
        ...(opts.metricsExportIntervalMs !== undefined && { exportIntervalMillis: opts.metricsExportIntervalMs }),
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });
  const tracerProvider =
    opts.traceExporter === undefined
      ? undefined
      : new TracerProvider({
          resource,
          sampler: resolveSampler(opts.sampler, opts.incomingSampling),
          spanProcessors: [
            new BatchSpanProcessor({
              exporter: opts.traceExporter === 'otlp' ? new OTLPTraceExporter() : opts.traceExporter,
            }),
          ],
        });

  // Another SDK (a NodeSDK, an APM agent) already owns the globals: two
  // providers would split the metrics, so say so instead of half-registering.
  const meterRegistered = metrics.setGlobalMeterProvider(meterProvider);
  if (!meterRegistered || (tracerProvider && !trace.setGlobalTracerProvider(tracerProvider))) {
    // Undo only what this call registered; the other SDK keeps its providers.
    if (meterRegistered) metrics.disable();
    void meterProvider.shutdown();
    void tracerProvider?.shutdown();
    throw new AlreadyInitializedError(
      'setupTelemetry(): a global OpenTelemetry MeterProvider or TracerProvider is already registered ' +
        '(an OpenTelemetry NodeSDK or agent?). Use one of them: either drop the other setup, or do not call setupTelemetry().',
    );
  }
  ensureContextManager();
  propagation.setGlobalPropagator(createDefaultPropagator());
  // With no diag logger, OpenTelemetry's own errors (a failed export, a NodeSDK started after this call) print nothing.
  const uninstallDiag = installStderrDiag();

  const stopLifecycle = ensureLifecycleMetrics(meterProvider);
  const stopRuntime = opts.runtimeMetrics ? startRuntimeMetrics(meterProvider) : () => {};
  // The tracker tells scrapes on the metrics server from the app route's.
  const servers: { metrics?: Server | undefined } = {};
  const tracker = createScrapeTracker(createMetricsHandler(reader), meterProvider, () => servers.metrics);
  const metricsHandler = tracker.handler;
  const started = opts.prometheus && startMetricsServer(metricsHandler, opts.prometheus);
  const metricsServer = started && started.server;
  servers.metrics = metricsServer;

  let shuttingDown: Promise<void> | undefined;
  const telemetry: Telemetry = {
    meterProvider,
    ...(tracerProvider && { tracerProvider }),
    metricsHandler,
    ...(started && { metricsServer: started.server, metricsServerReady: started.ready }),
    resource,
    async forceFlush() {
      await Promise.all([tracerProvider?.forceFlush(), meterProvider.forceFlush()]);
    },
    scrapes: () => tracker.served(),
    firstScrapeCheck({ timeoutMs = FIRST_SCRAPE_WAIT_MS } = {}) {
      if (tracker.served() === 0 && performance.now() - setUpAt < timeoutMs) throw new Error('waiting for the first scrape of /metrics');
    },
    declareRoutes(app, options = {}) {
      const { statusCodes, scheme } = { ...DECLARE_ROUTES_DEFAULTS, ...expectOptionsObject('options', options) } as Required<DeclareRoutesOptions>;
      if (!Array.isArray(statusCodes) || statusCodes.some((c) => !Number.isInteger(c) || c < 100 || c > 599)) {
        throw invalidOption('statusCodes', 'an array of HTTP status codes 100-599', statusCodes);
      }
      if (scheme !== 'http' && scheme !== 'https') throw invalidOption('scheme', "'http' or 'https'", scheme);
      const routes = expressRoutes(app);
      declaredSeries.declare(
        routes.flatMap(({ method, route }) =>
          statusCodes.map((status: number) => ({
            [ATTR_HTTP_REQUEST_METHOD]: method,
            [ATTR_URL_SCHEME]: scheme,
            [ATTR_HTTP_ROUTE]: route,
            [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
          })),
        ),
      );
      return routes;
    },
    firstScrape: () => tracker.firstScrape(),
    awaitFinalScrape({ timeoutMs }) {
      return tracker.awaitFinalScrape(timeoutMs, metricsServer);
    },
    shutdown() {
      return (shuttingDown ??= (async () => {
        stopLifecycle();
        stopRuntime();
        const results = await Promise.allSettled([
          tracerProvider?.shutdown(),
          meterProvider.shutdown(),
          metricsServer && closeMetricsServer(metricsServer, METRICS_SERVER_GRACE_MS),
          tracker.dispose(),
        ]);
        for (const r of results) if (r.status === 'rejected') diag.error('throughline: telemetry shutdown failed', r.reason);
        // The context manager stays: it is idempotent, and code still running
        // (the last requests, a caller's logs) must keep its context.
        metrics.disable();
        propagation.disable();
        if (tracerProvider) trace.disable();
        uninstallDiag();
        if (processState().telemetry === telemetry) processState().telemetry = undefined;
      })());
    },
  };
  processState().telemetry = telemetry;
  return telemetry;
}

interface ValidOptions {
  serviceName: string;
  serviceVersion: string;
  serviceInstanceId: string;
  prometheus: { port: number; host?: string } | undefined;
  traceExporter: SpanExporter | 'otlp' | undefined;
  metricsExporter: PushMetricExporter | 'otlp' | undefined;
  metricsExportIntervalMs: number | undefined;
  runtimeMetrics: boolean;
  sampler: Sampler | undefined;
  incomingSampling: IncomingSampling;
}

/** `undefined`, `'otlp'`, or an exporter object (anything with export()); a TypeError naming `option` otherwise. */
function expectExporter(option: string, value: unknown, kind: string): unknown {
  if (value === undefined || value === 'otlp') return value;
  if (value === null || typeof value !== 'object' || typeof (value as { export?: unknown }).export !== 'function') {
    throw invalidOption(option, `\`'otlp'\` or ${kind} (an object with export())`, value);
  }
  return value;
}

function validate(options: unknown): ValidOptions {
  if (options === undefined) throw invalidOption('options', 'an options object with `serviceName`', options);
  const input = expectOptionsObject('options', options);
  rejectUnknownKeys('setupTelemetry', input, KNOWN);
  const merged = { ...SETUP_TELEMETRY_DEFAULTS, ...input } as Record<string, unknown>;
  const serviceName = expectString('serviceName', merged.serviceName);
  const serviceVersion =
    merged.serviceVersion === undefined
      ? (process.env.npm_package_version ?? 'unknown')
      : expectString('serviceVersion', merged.serviceVersion);
  const serviceInstanceId =
    merged.serviceInstanceId === undefined ? randomUUID() : expectString('serviceInstanceId', merged.serviceInstanceId);
  let prometheus: ValidOptions['prometheus'];
  if (merged.prometheus !== undefined) {
    const p = expectOptionsObject('prometheus', merged.prometheus);
    rejectUnknownKeys('setupTelemetry', p, ['port', 'host']);
    const port = expectNumber('prometheus.port', p.port);
    if (!Number.isInteger(port) || port > 65535) throw invalidOption('prometheus.port', 'an integer port 0-65535', p.port);
    prometheus = p.host === undefined ? { port } : { port, host: expectString('prometheus.host', p.host) };
  }
  const exporter = expectExporter('traceExporter', merged.traceExporter, 'a SpanExporter');
  const push = expectExporter('metricsExporter', merged.metricsExporter, 'a PushMetricExporter');
  const interval = merged.metricsExportIntervalMs;
  if (interval !== undefined) {
    expectNumber('metricsExportIntervalMs', interval, 1);
    if (push === undefined) throw invalidOption('metricsExportIntervalMs', 'given only with `metricsExporter`', interval);
  }
  const sampler = merged.sampler;
  if (sampler !== undefined && (sampler === null || typeof sampler !== 'object' || typeof (sampler as Sampler).shouldSample !== 'function')) {
    throw invalidOption('sampler', 'a Sampler from @opentelemetry/sdk-trace (an object with shouldSample())', sampler);
  }
  const incomingSampling = merged.incomingSampling;
  if (!(INCOMING_SAMPLING as readonly unknown[]).includes(incomingSampling)) {
    throw invalidOption('incomingSampling', "`'respect'` or `'ignore'`", incomingSampling);
  }
  // Sampling decides what the tracer provider records: without one it would do nothing, silently.
  for (const key of ['sampler', 'incomingSampling'] as const) {
    if (input[key] !== undefined && exporter === undefined) {
      throw new TypeError(`Expected \`traceExporter\` with \`${key}\`: setupTelemetry() creates a tracer provider (which samples) only with a traceExporter`);
    }
  }
  return {
    serviceName,
    serviceVersion,
    serviceInstanceId,
    prometheus,
    sampler: sampler as Sampler | undefined,
    incomingSampling: incomingSampling as IncomingSampling,
    traceExporter: exporter as ValidOptions['traceExporter'],
    metricsExporter: push as ValidOptions['metricsExporter'],
    metricsExportIntervalMs: interval as number | undefined,
    runtimeMetrics: expectBoolean('runtimeMetrics', merged.runtimeMetrics),
  };
}
