// No blind start: OpenTelemetry creates a histogram series at its first
// record, so a new pod's `http_server_request_duration_seconds_count` first reaches
// Prometheus already holding every request served before that scrape, and
// rate()/increase() never count those (issue 13 measured 12-1,461 requests per
// new pod, a 12-24 % dip of sum(rate())). Declared routes get series at zero
// from the first scrape on: the exposition carries a zero point for each
// declared attribute set the histogram has not recorded yet.
import { METRIC_HTTP_SERVER_REQUEST_DURATION } from '@opentelemetry/semantic-conventions';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  type CollectionResult,
  type HistogramMetricData,
} from '@opentelemetry/sdk-metrics';
import { ValueType, type Attributes } from '@opentelemetry/api';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';
import { HTTP_DURATION_BUCKETS_SECONDS } from './http-server-metrics.js';

/**
 * Options of `telemetry.declareRoutes(app, options?)`.
 *
 * @example
 * telemetry.declareRoutes(app, { statusCodes: [200, 201] });
 */
export interface DeclareRoutesOptions {
  /** Status codes each route gets a zero series for. Default: `[200]`. */
  readonly statusCodes?: readonly number[];
  /** `url.scheme` of the series (what traceContext() records). Default: `'http'`. */
  readonly scheme?: 'http' | 'https';
}

/**
 * Defaults of {@link DeclareRoutesOptions}.
 *
 * @example
 * DECLARE_ROUTES_DEFAULTS.statusCodes; // [200]
 */
export const DECLARE_ROUTES_DEFAULTS = { statusCodes: [200], scheme: 'http' } as const;

interface RouteLayer {
  route?: { path?: unknown; methods?: Record<string, boolean> };
}

/** The top-level routes of an Express 4 (`app._router`) or 5 (`app.router`) app: method and path template. */
export function expressRoutes(app: unknown): { method: string; route: string }[] {
  const a = app as { router?: { stack?: unknown }; _router?: { stack?: unknown } } | null | undefined;
  // Express 4 keeps `_router` (its `app.router` getter throws); Express 5 has `app.router`.
  const stack = typeof app !== 'function' ? undefined : (a?._router?.stack ?? a?.router?.stack);
  if (!Array.isArray(stack)) throw new TypeError('Expected `app` to be an Express 4 or 5 application with routes, got ' + typeof app);
  const routes: { method: string; route: string }[] = [];
  for (const layer of stack as RouteLayer[]) {
    const { path, methods } = layer.route ?? {};
    if (methods === undefined) continue;
    for (const p of Array.isArray(path) ? path : [path]) {
      if (typeof p !== 'string') continue;
      for (const [method, on] of Object.entries(methods)) if (on && method !== '_all') routes.push({ method: method.toUpperCase(), route: p });
    }
  }
  return routes;
}

const keyOf = (attributes: Attributes) =>
  JSON.stringify(
    Object.entries(attributes)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

/** Declared attribute sets, and the patch that adds their zero points to what `reader` collects. */
// The Prometheus exporter brings its own copy of sdk-metrics: its reader is typed structurally here.
export function createDeclaredSeries(reader: { collect(options?: { timeoutMillis?: number }): Promise<unknown> }): { declare(sets: Attributes[]): void } {
  const declared = new Map<string, Attributes>();
  const collect = reader.collect.bind(reader);
  reader.collect = async (options) => {
    const result = (await collect(options)) as CollectionResult;
    if (declared.size === 0) return result;
    const scopes = result.resourceMetrics.scopeMetrics;
    let scope = scopes.find((s) => s.scope.name === TRACER_NAME);
    if (scope === undefined) {
      scope = { scope: { name: TRACER_NAME, version: TRACER_VERSION }, metrics: [] };
      scopes.push(scope);
    }
    let metric = scope.metrics.find((m) => m.descriptor.name === METRIC_HTTP_SERVER_REQUEST_DURATION) as HistogramMetricData | undefined;
    if (metric === undefined) {
      metric = {
        descriptor: {
          name: METRIC_HTTP_SERVER_REQUEST_DURATION,
          description: 'Duration of HTTP server requests.',
          unit: 's',
          type: InstrumentType.HISTOGRAM,
          valueType: ValueType.DOUBLE,
        },
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: [],
        isMonotonic: true,
      } as HistogramMetricData;
      scope.metrics.push(metric);
    }
    const seen = new Set(metric.dataPoints.map((p) => keyOf(p.attributes)));
    const now: [number, number] = [Math.floor(Date.now() / 1000), 0];
    for (const [key, attributes] of declared) {
      if (seen.has(key)) continue;
      metric.dataPoints.push({
        attributes,
        startTime: now,
        endTime: now,
        value: { buckets: { boundaries: [...HTTP_DURATION_BUCKETS_SECONDS], counts: new Array<number>(HTTP_DURATION_BUCKETS_SECONDS.length + 1).fill(0) }, count: 0, sum: 0 },
      });
    }
    return result;
  };
  return {
    declare(sets) {
      for (const attributes of sets) declared.set(keyOf(attributes), attributes);
    },
  };
}
