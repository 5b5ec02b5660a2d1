import type { ShutdownPhase } from '../../src/index.js';

/** A promise with its resolve function outside: tests wait on real events through it. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `shutdown` enters `phase` (a real phase event, not a sleep). */
export function phaseReached(shutdown: { onPhase(l: (p: ShutdownPhase) => void): () => void }, phase: ShutdownPhase): Promise<void> {
  const reached = deferred();
  const off = shutdown.onPhase((p) => {
    if (p === phase) {
      off();
      reached.resolve();
    }
  });
  return reached.promise;
}
