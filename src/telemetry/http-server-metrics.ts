import { createNoopMeter, metrics, type Attributes, type Histogram, type MeterProvider } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_SCHEME,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
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
  /**
   * The attributes of this method's and scheme's `http.server.request.duration`
   * record for one outcome: the same frozen object for the same outcome.
   * `status` is undefined when no status was sent (an abort before the head).
   */
  durationAttributes(route: string | undefined, status: number | undefined, aborted: boolean): Attributes;
}

/** `error.type` of a request whose client went away before the response finished. */
export const ERROR_TYPE_ABORTED = 'aborted';

/**
 * A server request's `error.type`, on its span and its duration record: `aborted`
 * when the response was cut, the status code for a 5xx, none otherwise (a 4xx
 * is the client's fault, not the server's).
 */
export function serverErrorType(status: number | undefined, aborted: boolean): string | undefined {
  return aborted ? ERROR_TYPE_ABORTED : status !== undefined && status >= 500 ? String(status) : undefined;
}

// Outcomes remembered per provider. Past this, records get a fresh object
// each: the SDK folds series past its own cardinality limit (2,000 by default)
// into one overflow series anyway, so a larger cache would hold attribute sets
// nobody exports.
const DURATION_ATTRIBUTE_SETS = 2000;

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
    const remembered = { count: 0 };
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
          slot = activeSlot(method, scheme, remembered);
          slots[scheme].set(method, slot);
        }
        return slot;
      },
    };
    byProvider.set(provider, instruments);
  }
  return instruments;
}

/**
 * One in-flight count and its duration attribute sets. A record's attributes
 * are looked up by (route, status, aborted) instead of spread into a new
 * object per request. Measured 2026-12-02 with bench/middleware-loop.mjs
 * throughline-metrics: 12,797–12,843 → 12,789 bytes a call (--bytes), and
 * 5,592–5,779 → 5,370–5,619 ns a call (fastest of 9 rounds, 3 runs each,
 * pinned): about 0.15 µs, at the edge of what the loop resolves. Most of a
 * record is the SDK's: it hashes the set on every call (hashAttributes sorts
 * the keys and JSON-stringifies them), and its API has no bound instrument
 * that would skip that.
 */
function activeSlot(method: string, scheme: 'http' | 'https', remembered: { count: number }): ActiveRequestSlot {
  const attributes = Object.freeze({ [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_SCHEME]: scheme });
  // route -> (status * 2 + aborted) -> attributes; status 0 when none was sent.
  const byRoute = new Map<string | undefined, Map<number, Attributes>>();
  return {
    attributes,
    count: 0,
    durationAttributes(route, status, aborted) {
      const outcome = (status ?? 0) * 2 + (aborted ? 1 : 0);
      let byOutcome = byRoute.get(route);
      const known = byOutcome?.get(outcome);
      if (known !== undefined) return known;
      const set: Record<string, string | number> = { ...attributes };
      if (route !== undefined) set[ATTR_HTTP_ROUTE] = route;
      if (status !== undefined) set[ATTR_HTTP_RESPONSE_STATUS_CODE] = status;
      const errorType = serverErrorType(status, aborted);
      if (errorType !== undefined) set[ATTR_ERROR_TYPE] = errorType;
      if (remembered.count >= DURATION_ATTRIBUTE_SETS) return set;
      remembered.count++;
      if (byOutcome === undefined) byRoute.set(route, (byOutcome = new Map<number, Attributes>()));
      byOutcome.set(outcome, Object.freeze(set));
      return set;
    },
  };
}
