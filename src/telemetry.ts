// `throughline/telemetry`: setupTelemetry() and the metric names. The only
// entry point that loads the OpenTelemetry SDKs and exporters.
export { HTTP_DURATION_BUCKETS_SECONDS } from './telemetry/http-server-metrics.js';
export { setupTelemetry, SETUP_TELEMETRY_DEFAULTS } from './telemetry/setup-telemetry.js';
export type { SetupTelemetryOptions, Telemetry } from './telemetry/setup-telemetry.js';
export type { IncomingSampling } from './telemetry/sampling.js';
export type { MetricsHandler } from './telemetry/metrics-endpoint.js';
export {
  LIFECYCLE_METRICS,
  PHASE_DURATION_BUCKETS_SECONDS,
  ATTR_SHUTDOWN_PHASE,
  ATTR_JOB_OUTCOME,
  ATTR_CONNECTION_STATE,
} from './telemetry/lifecycle-metrics.js';
