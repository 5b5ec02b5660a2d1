// `throughline/express`: what plugs into Express. Loads the OpenTelemetry API
// and throughline's core, no SDK and no exporter (docs/architecture.md).

// Express middleware
export { traceContext, TRACE_CONTEXT_DEFAULTS, ERROR_TYPE_ABORTED } from './trace-context/index.js';
export type { TraceContextOptions } from './trace-context/index.js';
export { healthRoutes, HEALTH_ROUTES_DEFAULTS } from './health/index.js';
export type { HealthRoutesOptions, HealthBody } from './health/index.js';
