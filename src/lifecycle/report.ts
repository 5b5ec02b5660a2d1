import type { AbandonedJob } from '../detached/registry.js';
import type { ShutdownPhase } from '../internal/channels.js';

/** How the flushing phase ended; `skipped` when no `telemetry` option was given. */
export type FlushResult = 'ok' | 'failed' | 'timeout' | 'skipped';

/** The timed phases of a shutdown. */
export type TimedPhase = Exclude<ShutdownPhase, 'running' | 'stopped'>;

/**
 * What `terminate()` resolves with.
 *
 * @example
 * const report = await terminate('deploy');
 * logger.info({ report }, 'stopped');
 */
export interface ShutdownReport {
  /** The argument of `terminate(reason)` or the signal name. */
  readonly reason: string;
  /** Milliseconds spent in each phase. */
  readonly durationsMs: Readonly<Record<TimedPhase, number>>;
  /** From `terminate()` to `stopped`. */
  readonly totalMs: number;
  /** Requests in flight when `terminate()` was called. */
  readonly inFlightAtStart: number;
  /** Requests that arrived, and were served, while draining. */
  readonly servedWhileDraining: number;
  /** Sockets destroyed with a response still unfinished (busy at `closeTimeoutMs`). */
  readonly socketsDestroyed: number;
  /** Detached jobs that settled during the jobs phase (successfully or not). */
  readonly jobsCompleted: number;
  /** Detached jobs still running at `jobsTimeoutMs`: aborted. */
  readonly jobsAbandoned: readonly AbandonedJob[];
  /** Names of `beforeExit` hooks that threw, rejected or timed out. */
  readonly hooksFailed: readonly string[];
  /** How `telemetry.forceFlush()` + `shutdown()` ended. */
  readonly flush: FlushResult;
  /** Phases that hit their timeout. */
  readonly timedOut: readonly TimedPhase[];
  /** The exit code a signal-started shutdown uses: 0, or 1 if a phase timed out, a hook failed or the flush failed. */
  readonly exitCode: 0 | 1;
}
