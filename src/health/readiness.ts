import { phaseChannel, type PhaseEvent, type ShutdownPhase } from '../internal/channels.js';

/** Anything that knows the shutdown phase: the handle `gracefulShutdown()` returns fits. */
export interface PhaseSource {
  phase(): ShutdownPhase;
}

/**
 * Tracks whether a shutdown has started. With a `source` (one server's
 * `gracefulShutdown()` handle) it asks that handle; without one it listens on
 * the process-wide phase channel, so any `gracefulShutdown()` in the process
 * flips readiness the moment draining starts, with no wiring.
 *
 * @example
 * const state = watchShutdown();
 * if (state.shuttingDown()) res.statusCode = 503;
 */
export function watchShutdown(source?: PhaseSource): { shuttingDown(): boolean; dispose(): void } {
  if (source) return { shuttingDown: () => source.phase() !== 'running', dispose: () => {} };
  let shuttingDown = false;
  const onPhase = (message: unknown) => {
    if ((message as PhaseEvent).phase !== 'running') shuttingDown = true;
  };
  phaseChannel.subscribe(onPhase);
  return {
    shuttingDown: () => shuttingDown,
    dispose: () => phaseChannel.unsubscribe(onPhase),
  };
}
