import type { ShutdownPhase } from '../internal/channels.js';
import { anyShutdownInProgress } from '../internal/shutdown-state.js';

/** Anything that knows the shutdown phase: the handle `gracefulShutdown()` returns fits. */
export interface PhaseSource {
  phase(): ShutdownPhase;
}

/**
 * Tracks whether a shutdown has started. With a `source` (one server's
 * `gracefulShutdown()` handle) it asks that handle; without one it follows
 * every `gracefulShutdown()` in the process, from `draining` until `stopped`,
 * so readiness flips the moment draining starts, with no wiring.
 *
 * @example
 * const state = watchShutdown();
 * if (state.shuttingDown()) res.statusCode = 503;
 */
export function watchShutdown(source?: PhaseSource): { shuttingDown(): boolean } {
  if (source) return { shuttingDown: () => source.phase() !== 'running' };
  return { shuttingDown: anyShutdownInProgress };
}
