import { createNoopMeter, metrics, type Histogram, type MeterProvider } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_URL_SCHEME, METRIC_HTTP_SERVER_REQUEST_DURATION } from '@opentelemetry/semantic-conventions';
import { processState } from '../internal/state.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';

/**
 * Name of the in-flight requests instrument. Still "development" in the
 * semantic conventions, so not in their stable entry point.
 *
 * @example
 * // Prometheus: http_server_active_requests{http_request_method="GET",url_scheme="http"}
 */
export const METRIC_HTTP_SERVER_ACTIVE_REQUESTS = 'http.server.active_requests';

/**
 * Semantic-convention advice for `http.server.request.duration`, in seconds
 * (https://opentelemetry.io/docs/specs/semconv/http/http-metrics/).
 *
 * @example
 * // PromQL: histogram_quantile(0.99, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket[5m])))
 * HTTP_DURATION_BUCKETS_SECONDS.length; // 14
 */
export const HTTP_DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;

/**
 * In-flight requests of one `http.request.method` and `url.scheme`: one
 * series of `http.server.active_requests`.
 */
export interface ActiveRequestSlot {
  readonly attributes: { readonly 'http.request.method': string; readonly 'url.scheme': 'http' | 'https' };
  count: number;
}

/** The instruments `traceContext()` records on, per meter provider. */
export interface HttpServerInstruments {
  readonly duration: Histogram;
  /**
   * The in-flight count for `method` and `scheme`: increment it when a request
   * starts, decrement it when it ends. Read by an observable up-down counter
   * at collection, so a request costs two increments instead of two
   * synchronous records, each of which hashes its attribute set.
   */
  active(method: string, scheme: 'http' | 'https'): ActiveRequestSlot;
  /** False when the provider is the API's no-op one: recording would be wasted work. */
  readonly recording: boolean;
}

// Instruments belong to a meter provider; a provider swapped in later (tests,
// or setupTelemetry() called after the middleware was created) gets its own
// (kept in the process state).

/**
 * The HTTP server instruments on `provider` (the global one by default),
 * created once per provider.
 *
 * @example
 * httpServerInstruments().duration.record(0.012, { 'http.request.method': 'GET', 'url.scheme': 'http' });
 */
export function httpServerInstruments(provider: MeterProvider = metrics.getMeterProvider()): HttpServerInstruments {
  const byProvider = processState().httpInstruments;
  let instruments = byProvider.get(provider);
  if (instruments === undefined) {
    const meter = provider.getMeter(TRACER_NAME, TRACER_VERSION);
    // Methods are the known ones plus _OTHER, so these maps stay small.
    const slots = { http: new Map<string, ActiveRequestSlot>(), https: new Map<string, ActiveRequestSlot>() };
    const active = meter.createObservableUpDownCounter(METRIC_HTTP_SERVER_ACTIVE_REQUESTS, {
      description: 'Number of active HTTP server requests.',
      unit: '{request}',
    });
    active.addCallback((result) => {
      for (const byScheme of [slots.http, slots.https]) for (const slot of byScheme.values()) result.observe(slot.count, slot.attributes);
    });
    instruments = {
      recording: meter !== createNoopMeter(),
      duration: meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
        description: 'Duration of HTTP server requests.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS_SECONDS] },
      }),
      active(method, scheme) {
        let slot = slots[scheme].get(method);
        if (slot === undefined) {
          slot = { attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_SCHEME]: scheme }, count: 0 };
          slots[scheme].set(method, slot);
        }
        return slot;
      },
    };
    byProvider.set(provider, instruments);
  }
  return instruments;
}
