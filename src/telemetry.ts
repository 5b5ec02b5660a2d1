// `throughline/telemetry`: setupTelemetry() and the metric names. The only
// entry point that loads the OpenTelemetry SDKs and exporters.

// Telemetry
export { HTTP_DURATION_BUCKETS_SECONDS } from './telemetry/http-server-metrics.js';
export { setupTelemetry, SETUP_TELEMETRY_DEFAULTS, FIRST_SCRAPE_WAIT_MS } from './telemetry/setup-telemetry.js';
export { DECLARE_ROUTES_DEFAULTS } from './telemetry/declared-routes.js';
export type { DeclareRoutesOptions } from './telemetry/declared-routes.js';
export { FINAL_SCRAPE_METRIC, ATTR_FINAL_SCRAPE_RESULT } from './telemetry/scrape-tracker.js';
export type { FinalScrapeResult } from './telemetry/scrape-tracker.js';
export type { SetupTelemetryOptions, Telemetry } from './telemetry/setup-telemetry.js';
export { MetricsServerListenError } from './telemetry/metrics-endpoint.js';
export type { IncomingSampling } from './telemetry/sampling.js';
export type { MetricsHandler } from './telemetry/metrics-endpoint.js';
export {
  LIFECYCLE_METRICS,
  PHASE_DURATION_BUCKETS_SECONDS,
  ATTR_SHUTDOWN_PHASE,
  ATTR_JOB_OUTCOME,
  ATTR_CONNECTION_STATE,
} from './telemetry/lifecycle-metrics.js';
