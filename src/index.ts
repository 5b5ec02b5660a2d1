// The public API. Re-exports only; each name lives in the module that owns it.

// Errors
export { OutsideContextError, AlreadyInitializedError } from './errors.js';

// Context: getters and the per-request store
export { ensureContextManager } from './context/context-manager.js';
export { getTraceContext, tryGetTraceContext, activeSpan, logFields } from './context/getters.js';
export type { TraceContextInfo, LogFields } from './context/getters.js';
export { setContextValue, getContextValue } from './context/request-store.js';
export type { ContextValues } from './context/request-store.js';

// Propagation
export { createW3CTraceContextPropagator, parseTraceparent } from './propagation/w3c-trace-context.js';
export type { ParsedTraceparent } from './propagation/w3c-trace-context.js';
export { parseTraceState, createTraceState } from './propagation/trace-state.js';
export { createDefaultPropagator } from './propagation/propagator.js';
export { outgoingHeaders, tracedFetch } from './propagation/outgoing.js';

// Telemetry
export { HTTP_DURATION_BUCKETS_SECONDS } from './telemetry/http-server-metrics.js';

// Lifecycle
export { gracefulShutdown, GRACEFUL_SHUTDOWN_DEFAULTS } from './lifecycle/index.js';
export type {
  GracefulShutdown,
  GracefulShutdownOptions,
  ShutdownTelemetry,
  BeforeExitHook,
  ShutdownLogger,
  ShutdownReport,
  FlushResult,
  TimedPhase,
} from './lifecycle/index.js';
export { SHUTDOWN_PHASES } from './internal/channels.js';
export type { ShutdownPhase } from './internal/channels.js';

// Health
export { createCheckRunner } from './health/check-runner.js';
export type { HealthCheck, CheckResult, CheckRun } from './health/check-runner.js';
export type { PhaseSource } from './health/readiness.js';
export { healthRoutes, HEALTH_ROUTES_DEFAULTS } from '../middleware/health/index.js';
export type { HealthRoutesOptions, HealthBody } from '../middleware/health/index.js';

// Express middleware
export { traceContext, TRACE_CONTEXT_DEFAULTS, ERROR_TYPE_ABORTED } from '../middleware/trace-context/index.js';
export type { TraceContextOptions } from '../middleware/trace-context/index.js';
