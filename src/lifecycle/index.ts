export { gracefulShutdown } from './graceful-shutdown.js';
export type { GracefulShutdown } from './graceful-shutdown.js';
export { GRACEFUL_SHUTDOWN_DEFAULTS } from './options.js';
export type { GracefulShutdownOptions, ShutdownTelemetry, BeforeExitHook } from './options.js';
export type { ShutdownLogger } from './logger.js';
export type { ShutdownReport, FlushResult, TimedPhase } from './report.js';
export { shutdownSignal } from './shutdown-signal.js';
export type { ShutdownServer, WebSocketServerLike, WebSocketLike } from './connections.js';
