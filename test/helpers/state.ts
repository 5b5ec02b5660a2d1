import type { Server } from 'node:http';
import type { ShutdownPhase } from '../../src/internal/channels.js';
import { processState } from '../../src/internal/state.js';

/**
 * A shutdown registered in the process state whose phase a test moves by
 * hand, for metrics tests that need phases without a real server's timings.
 * Call `remove()` when done (or `resetState()` from throughline/testing).
 */
export function fakeShutdown(): { enter(phase: ShutdownPhase, previousDurationMs: number): void; remove(): void } {
  const key = {} as Server;
  let current: ShutdownPhase = 'running';
  const entry = {
    phase: () => current,
    connections: () => ({ open: 0, active: 0 }),
    uninstall: () => processState().shutdowns.release(key, entry),
  };
  processState().shutdowns.claim(key, entry);
  return {
    enter(phase, previousDurationMs) {
      const previous = current;
      current = phase;
      for (const listener of processState().shutdowns.phaseListeners) listener(phase, previous, previousDurationMs);
    },
    remove: entry.uninstall,
  };
}
