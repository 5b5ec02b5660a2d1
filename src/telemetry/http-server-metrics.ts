import { metrics, type Histogram, type MeterProvider, type UpDownCounter } from '@opentelemetry/api';
import { METRIC_HTTP_SERVER_REQUEST_DURATION } from '@opentelemetry/semantic-conventions';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';

// Still "development" in the semantic conventions, so not in the stable entry point.
export const METRIC_HTTP_SERVER_ACTIVE_REQUESTS = 'http.server.active_requests';

/** Semantic-convention advice for `http.server.request.duration`, in seconds. */
export const HTTP_DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;

export interface HttpServerInstruments {
  readonly duration: Histogram;
  readonly active: UpDownCounter;
}

// Instruments belong to a meter provider; a provider swapped in later (tests,
// or setupTelemetry() called after the middleware was created) gets its own.
const byProvider = new WeakMap<MeterProvider, HttpServerInstruments>();

export function httpServerInstruments(provider: MeterProvider = metrics.getMeterProvider()): HttpServerInstruments {
  let instruments = byProvider.get(provider);
  if (instruments === undefined) {
    const meter = provider.getMeter(TRACER_NAME, TRACER_VERSION);
    instruments = {
      duration: meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
        description: 'Duration of HTTP server requests.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS_SECONDS] },
      }),
      active: meter.createUpDownCounter(METRIC_HTTP_SERVER_ACTIVE_REQUESTS, {
        description: 'Number of active HTTP server requests.',
        unit: '{request}',
      }),
    };
    byProvider.set(provider, instruments);
  }
  return instruments;
}
