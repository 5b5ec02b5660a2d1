// `throughline/shutdown`: gracefulShutdown() and the readiness checks it
// flips. Loads http-terminator and the OpenTelemetry API, no SDK.
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
export { createCheckRunner } from './health/check-runner.js';
export type { HealthCheck, CheckResult, CheckRun } from './health/check-runner.js';
export type { PhaseSource } from './health/readiness.js';
