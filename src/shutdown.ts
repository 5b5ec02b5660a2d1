// `throughline/shutdown`: gracefulShutdown() and the readiness checks it
// flips. Loads the OpenTelemetry API, no SDK.

// Lifecycle
export { gracefulShutdown, GRACEFUL_SHUTDOWN_DEFAULTS, shutdownSignal } from './lifecycle/index.js';
export type {
  GracefulShutdown,
  GracefulShutdownOptions,
  ShutdownTelemetry,
  BeforeExitHook,
  ShutdownLogger,
  ShutdownReport,
  FlushResult,
  TimedPhase,
  ShutdownServer,
  WebSocketServerLike,
  WebSocketLike,
} from './lifecycle/index.js';

// Health
export { createCheckRunner } from './health/check-runner.js';
export type { HealthCheck, CheckResult, CheckRun } from './health/check-runner.js';
export type { PhaseSource } from './health/readiness.js';
