// `throughline`: every export, for existing users and quick starts. It loads
// the SDKs and exporters (through throughline/telemetry); a service that wants
// less imports the subpath entries instead: throughline/core, /express,
// /shutdown, /telemetry (docs/architecture.md has what each costs to load).
// This file is the one place under src/ allowed to import middleware/.

// Errors
export { OutsideContextError, AlreadyInitializedError, DetachedLimitError } from './errors.js';

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

// Detached work
export { runDetached, RUN_DETACHED_DEFAULTS, ATTR_DETACHED_ID } from './detached/run-detached.js';
export type { DetachedJob, DetachedJobContext, DetachedResult, DetachedErrorInfo, DetachedHandle, RunDetachedOptions } from './detached/run-detached.js';
export { ABANDONED_LISTED, configureDetached, DETACHED_DEFAULTS, drainDetached, runningJobCount } from './detached/registry.js';
export type { ConfigureDetachedOptions, DrainOptions, DrainReport, AbandonedJob } from './detached/registry.js';
export { bindDetached, bindEmitter } from './detached/bind.js';

// Carriers
export {
  injectContext,
  extractContext,
  runWithContext,
  CARRIER_DEFAULTS,
  ATTR_MESSAGING_SYSTEM,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
} from './propagation/carrier.js';
export type { Carrier, MessagingSpanOptions, InjectContextOptions, RunWithContextOptions } from './propagation/carrier.js';
export { childEnv, contextFromEnv } from './propagation/env-carrier.js';

// Telemetry
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
export { SHUTDOWN_PHASES, CHANNELS } from './internal/channels.js';
export type { ShutdownPhase, JobEvent, PhaseEvent } from './internal/channels.js';

// Health
export { createCheckRunner } from './health/check-runner.js';
export type { HealthCheck, CheckResult, CheckRun } from './health/check-runner.js';
export type { PhaseSource } from './health/readiness.js';
export { healthRoutes, HEALTH_ROUTES_DEFAULTS } from '../middleware/health/index.js';
export type { HealthRoutesOptions, HealthBody } from '../middleware/health/index.js';

// Express middleware
export { traceContext, TRACE_CONTEXT_DEFAULTS, ERROR_TYPE_ABORTED } from '../middleware/trace-context/index.js';
export type { TraceContextOptions } from '../middleware/trace-context/index.js';
