import type { AbandonedJob, DrainReport } from '../detached/registry.js';
import type { ShutdownPhase } from '../internal/channels.js';
import { emptyClosingOutcome, type ClosingOutcome } from './connections.js';
import type { FinalScrapeResult } from '../telemetry/scrape-tracker.js';

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
  /**
   * Connections cut in closing, each without its protocol's polite close:
   * HTTP/1 sockets that closed under an unfinished response, upgraded
   * connections (WebSockets) and HTTP/2 sessions destroyed at `closeTimeoutMs`.
   */
  readonly socketsDestroyed: number;
  /** Responses (HTTP/1, and HTTP/2 streams) in flight during closing that finished in time (SSE streams ended on shutdownSignal() among them). */
  readonly responsesFinished: number;
  /** Responses and HTTP/2 streams cut during closing: their socket or stream closed before they finished. */
  readonly responsesCut: number;
  /** Upgraded connections (WebSockets) that closed during closing: the close handshake done, or closed by either side. */
  readonly upgradedClosed: number;
  /** Upgraded connections still open at `closeTimeoutMs`: destroyed. */
  readonly upgradedCut: number;
  /** HTTP/2 sessions that closed after GOAWAY once their streams finished. */
  readonly http2SessionsClosed: number;
  /** HTTP/2 sessions still open at `closeTimeoutMs`: destroyed. */
  readonly http2SessionsDestroyed: number;
  /** Detached jobs that settled during the jobs phase (successfully or not). */
  readonly jobsCompleted: number;
  /** The first 10 detached jobs still running at `jobsTimeoutMs` (all were aborted); `jobsAbandonedCount` counts them all. */
  readonly jobsAbandoned: readonly AbandonedJob[];
  /** How many detached jobs were abandoned. */
  readonly jobsAbandonedCount: number;
  /** Names of `beforeExit` hooks that threw, rejected or timed out. */
  readonly hooksFailed: readonly string[];
  /** How `telemetry.forceFlush()` + `shutdown()` ended. */
  readonly flush: FlushResult;
  /**
   * Whether a scrape that started after the last request was served before
   * the flush (`seen`), or not within `finalScrapeTimeoutMs` (`timeout`: the
   * last counts may never reach Prometheus). A timeout does not change the exit code.
   */
  readonly finalScrape: FinalScrapeResult;
  /** Phases that hit their timeout. */
  readonly timedOut: readonly TimedPhase[];
  /** The exit code a signal-started shutdown uses: 0, or 1 if anything was cut, a phase timed out, a hook failed or the flush failed. */
  readonly exitCode: 0 | 1;
}

/** What the phases of one shutdown found, filled in as they run (src/lifecycle/phases.ts). */
export interface RunFindings {
  inFlightAtStart: number;
  servedWhileDraining: number;
  socketsDestroyed: number;
  closing: ClosingOutcome;
  jobs: DrainReport;
  hooksFailed: string[];
  flush: FlushResult;
  finalScrape: FinalScrapeResult;
  timedOut: TimedPhase[];
}

/**
 * Empty findings, for a shutdown about to start.
 *
 * @example
 * const found = createFindings(connections.inFlight());
 */
export function createFindings(inFlightAtStart: number): RunFindings {
  return {
    inFlightAtStart,
    servedWhileDraining: 0,
    socketsDestroyed: 0,
    closing: emptyClosingOutcome(),
    jobs: { completed: 0, failed: 0, abandoned: [], abandonedCount: 0 },
    hooksFailed: [],
    flush: 'skipped',
    finalScrape: 'skipped',
    timedOut: [],
  };
}

/**
 * The exit policy, in one place: 1 when anything was cut, abandoned, timed
 * out or failed, else 0.
 *
 * @example
 * exitCodeOf(found); // 0 | 1
 */
export function exitCodeOf(found: RunFindings): 0 | 1 {
  const { closing } = found;
  const cut = found.socketsDestroyed + closing.responsesCut + closing.upgradedCut + closing.sessionsDestroyed;
  return cut > 0 || found.timedOut.length > 0 || found.hooksFailed.length > 0 || found.flush === 'failed' ? 1 : 0;
}

/**
 * The report of a finished shutdown, from what its phases found.
 *
 * @example
 * const report = buildReport(reason, found, durationsMs, totalMs);
 */
export function buildReport(reason: string, found: RunFindings, durationsMs: Record<TimedPhase, number>, totalMs: number): ShutdownReport {
  return {
    reason,
    durationsMs,
    totalMs,
    inFlightAtStart: found.inFlightAtStart,
    servedWhileDraining: found.servedWhileDraining,
    socketsDestroyed: found.socketsDestroyed,
    responsesFinished: found.closing.responsesFinished,
    responsesCut: found.closing.responsesCut,
    upgradedClosed: found.closing.upgradedClosed,
    upgradedCut: found.closing.upgradedCut,
    http2SessionsClosed: found.closing.sessionsClosed,
    http2SessionsDestroyed: found.closing.sessionsDestroyed,
    jobsCompleted: found.jobs.completed + found.jobs.failed,
    jobsAbandoned: found.jobs.abandoned,
    jobsAbandonedCount: found.jobs.abandonedCount,
    hooksFailed: found.hooksFailed,
    flush: found.flush,
    finalScrape: found.finalScrape,
    timedOut: found.timedOut,
    exitCode: exitCodeOf(found),
  };
}
