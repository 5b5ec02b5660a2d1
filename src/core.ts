// `throughline/core`: context, propagation and detached work. Loads the
// OpenTelemetry API, its context manager and core propagators, never an SDK
// or an exporter (docs/architecture.md).

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

// Observation taps
export { SHUTDOWN_PHASES, CHANNELS } from './internal/channels.js';
export type { ShutdownPhase, JobEvent, PhaseEvent } from './internal/channels.js';
