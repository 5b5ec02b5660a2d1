import type { ShutdownPhase } from '../internal/channels.js';
import { processState } from '../internal/state.js';

/** Anything that knows the shutdown phase: the handle `gracefulShutdown()` returns fits. */
export interface PhaseSource {
  phase(): ShutdownPhase;
}

/**
 * Tracks whether a shutdown has started. With a `source` (one server's
 * `gracefulShutdown()` handle) it asks that handle; without one it reports
 * shutting down once any `gracefulShutdown()` in the process starts after
 * this call, so readiness flips the moment draining starts, with no wiring,
 * and stays flipped: a process that began to shut down never turns ready again.
 *
 * @example
 * const state = watchShutdown();
 * if (state.shuttingDown()) res.statusCode = 503;
 */
export function watchShutdown(source?: PhaseSource): { shuttingDown(): boolean } {
  if (source) return { shuttingDown: () => source.phase() !== 'running' };
  // Counted from creation: a shutdown that ended before (a test's) does not count.
  const seen = processState().shutdowns.startedCount();
  return { shuttingDown: () => processState().shutdowns.startedCount() > seen };
}
