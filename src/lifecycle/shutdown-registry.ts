import type { ShutdownPhase } from '../internal/channels.js';
import { SHUTDOWN_PHASES } from '../internal/channels.js';

/** What the process knows of one `gracefulShutdown()`: read by readiness and by telemetry when it collects. */
export interface ShutdownEntry {
  phase(): ShutdownPhase;
  /** Open connections of its server, and those with a request in flight. */
  connections(): { open: number; active: number };
  /** Removes its listeners (the testing reset). */
  uninstall(): void;
}

/** A phase ended: what the phase-duration histogram records. */
export type PhaseListener = (phase: ShutdownPhase, previous: ShutdownPhase, previousDurationMs: number) => void;

/** The `gracefulShutdown()`s of a process. */
export interface ShutdownRegistry {
  /** Registers the shutdown of `server`; throws when one is registered already. */
  claim(server: object, entry: ShutdownEntry): void;
  /** Forgets the shutdown of `server` (its `uninstall()`). */
  release(server: object, entry: ShutdownEntry): void;
  entries(): Iterable<ShutdownEntry>;
  /** Notes that a shutdown started: readiness without a `shutdown` option follows any of them. */
  started(): void;
  /** How many shutdowns started so far. */
  startedCount(): number;
  /** The furthest phase any registered shutdown is in (`running` when none started). */
  furthestPhase(): ShutdownPhase;
  /** Phase changes of every shutdown, for the phase-duration histogram. */
  readonly phaseListeners: Set<PhaseListener>;
  /** Aborted when the first shutdown of the process enters `closing` (what shutdownSignal() returns). */
  closingSignal(): AbortSignal;
  /** A shutdown entered `closing`: aborts closingSignal(). */
  closingStarted(): void;
}

/**
 * Creates an empty registry; the process state (src/internal/state.ts) holds one.
 *
 * @example
 * const shutdowns = createShutdownRegistry();
 * shutdowns.furthestPhase(); // 'running'
 */
export function createShutdownRegistry(): ShutdownRegistry {
  const byServer = new Map<object, ShutdownEntry>();
  const closing = new AbortController();
  // Kept apart from byServer: a released shutdown that is under way still reports its phase.
  let startedCount = 0;
  return {
    claim(server, entry) {
      if (byServer.has(server)) {
        throw new Error(
          'throughline: gracefulShutdown() already manages this server. Keep the handle the first call returned, ' +
            'or call its uninstall() before calling gracefulShutdown() again.',
        );
      }
      byServer.set(server, entry);
    },
    release(server, entry) {
      if (byServer.get(server) === entry) byServer.delete(server);
    },
    entries: () => byServer.values(),
    started() {
      startedCount++;
    },
    startedCount: () => startedCount,
    furthestPhase() {
      let furthest = 0;
      for (const entry of byServer.values()) furthest = Math.max(furthest, SHUTDOWN_PHASES.indexOf(entry.phase()));
      return SHUTDOWN_PHASES[furthest]!;
    },
    phaseListeners: new Set(),
    closingSignal: () => closing.signal,
    closingStarted() {
      if (!closing.signal.aborted) closing.abort(new Error('throughline: the server is closing; end long-lived responses'));
    },
  };
}
