// The work of each timed shutdown phase, one function each, in the order
// gracefulShutdown() runs them (PHASE_STEPS). A step reads what it needs from
// the run and writes what it found into `run.found`; the report and the exit
// policy are computed in one place from that (report.ts).
import type { Span } from '@opentelemetry/api';
import { drainDetached } from '../detached/registry.js';
import { processState } from '../internal/state.js';
import { FIRST_REQUEST_GRACE_MS, SOCKETS_SETTLE_MS, type ConnectionTracker, type ShutdownServer } from './connections.js';
import { exceptionOf } from '../internal/describe.js';
import { withDeadline } from './deadline.js';
import type { ResolvedShutdownOptions } from './options.js';
import type { RunFindings, TimedPhase } from './report.js';

/** How long closing waits for server.close()'s callback once every connection is gone. */
export const STOP_SETTLE_MS = 1_000;
/**
 * What `closing` may add to `closeTimeoutMs` at most: the worst case of a
 * shutdown is the sum of the phase timeouts plus this (docs/kubernetes.md).
 */
export const CLOSING_MARGINS_MS = SOCKETS_SETTLE_MS + STOP_SETTLE_MS;

/** One shutdown under way: its inputs and what its phases found. */
export interface ShutdownRun {
  readonly server: ShutdownServer;
  readonly opts: ResolvedShutdownOptions;
  readonly connections: ConnectionTracker;
  readonly span: Span;
  readonly found: RunFindings;
}

const notRunning = (error: unknown) => (error as { code?: unknown } | null)?.code === 'ERR_SERVER_NOT_RUNNING';

async function draining(run: ShutdownRun): Promise<void> {
  run.connections.startDraining();
  if (run.opts.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, run.opts.drainDelayMs));
  run.found.servedWhileDraining = run.connections.counted();
}

/**
 * Stops accepting without closing idle connections: since Node 19
 * `server.close()` first calls `closeIdleConnections()`, which destroys idle
 * keep-alive sockets at once and resets a request on its way in (the
 * keep-alive race closing handles, connections.ts).
 */
function stopAccepting(server: ShutdownServer): Promise<Error | undefined> {
  const target = server as unknown as { closeIdleConnections?: () => void; close(cb: (err?: Error) => void): void };
  const own = Object.getOwnPropertyDescriptor(target, 'closeIdleConnections');
  target.closeIdleConnections = () => {};
  try {
    return new Promise((resolve) => target.close(resolve));
  } finally {
    if (own) Object.defineProperty(target, 'closeIdleConnections', own);
    else delete target.closeIdleConnections;
  }
}

async function closing(run: ShutdownRun): Promise<void> {
  const { server, opts, connections, found } = run;
  connections.startClosing(opts.closeTimeoutMs, opts.websockets);
  // After startClosing(): the responses streaming handlers end on the signal count as finished in closing.
  processState().shutdowns.closingStarted();
  // Closing the listening socket resets the connections still in its accept
  // queue: a client that connected an instant ago gets ECONNRESET (32 of 266
  // requests in the 50-connection load test when closed at once). So connections
  // accepted but silent get a short grace to send their first request, then
  // the server stops accepting: a refused connection is retried elsewhere.
  await connections.firstRequests(Math.min(FIRST_REQUEST_GRACE_MS, opts.closeTimeoutMs / 4));
  const stopped = stopAccepting(server);
  const outcome = await connections.finishClosing();
  // Keep-alive connections opened before gracefulShutdown() was called are
  // not tracked: Node's own list still knows them, and close() waits for them.
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  const stop = await withDeadline(STOP_SETTLE_MS, () => stopped);
  const stopError = stop.status === 'ok' ? stop.value : undefined;
  if (stopError && !notRunning(stopError)) opts.logger.warn({ err: stopError }, 'throughline: server.close() failed');
  found.closing = outcome;
  found.socketsDestroyed = outcome.socketsCut + outcome.upgradedCut + outcome.sessionsDestroyed;
  if (found.socketsDestroyed > 0 || outcome.responsesCut > 0 || outcome.timedOut) {
    found.timedOut.push('closing');
    opts.logger.warn({ closing: outcome }, 'throughline: connections cut at closeTimeoutMs');
  }
}

async function jobs(run: ShutdownRun): Promise<void> {
  const { found, opts } = run;
  found.jobs = await drainDetached({ timeoutMs: opts.jobsTimeoutMs });
  if (found.jobs.abandonedCount > 0) {
    found.timedOut.push('jobs');
    // A summary, never the whole list: count and the first few (ABANDONED_LISTED).
    opts.logger.warn(
      { abandonedCount: found.jobs.abandonedCount, abandoned: found.jobs.abandoned },
      'throughline: detached jobs abandoned at shutdown',
    );
  }
}

async function hooks(run: ShutdownRun): Promise<void> {
  const { found, opts } = run;
  for (const [i, hook] of opts.beforeExit.entries()) {
    const name = hook.name || `beforeExit[${i}]`;
    const outcome = await withDeadline(opts.hookTimeoutMs, hook);
    if (outcome.status === 'ok') continue;
    found.hooksFailed.push(name);
    if (outcome.status === 'timeout') {
      if (!found.timedOut.includes('hooks')) found.timedOut.push('hooks');
      opts.logger.error({ hook: name, timeoutMs: opts.hookTimeoutMs }, 'throughline: beforeExit hook timed out');
    } else {
      run.span.recordException(exceptionOf(outcome.error));
      opts.logger.error({ hook: name, err: outcome.error }, 'throughline: beforeExit hook failed');
    }
  }
}

async function flushing(run: ShutdownRun): Promise<void> {
  const { found, opts } = run;
  const { telemetry } = opts;
  if (!telemetry) return;
  // The last request was recorded before `closing` ended, the last job's
  // metrics before `jobs`: a scrape starting now carries every count.
  if (telemetry.awaitFinalScrape) {
    const timeoutMs = opts.finalScrapeTimeoutMs;
    found.finalScrape = await telemetry.awaitFinalScrape({ timeoutMs });
    if (found.finalScrape === 'timeout' || found.finalScrape === 'unavailable') {
      opts.logger.warn({ finalScrape: found.finalScrape, timeoutMs }, 'throughline: no scrape after the last request; its counts may never reach Prometheus');
    }
  }
  const flushed = await withDeadline(opts.flushTimeoutMs, async () => {
    await telemetry.forceFlush?.();
    await telemetry.shutdown();
  });
  found.flush = flushed.status;
  if (flushed.status === 'timeout') found.timedOut.push('flushing');
  if (flushed.status !== 'ok') {
    opts.logger.error({ err: flushed.status === 'failed' ? flushed.error : undefined, flush: found.flush }, 'throughline: telemetry flush did not complete');
  }
}

/** The timed phases in order, each with its work. */
export const PHASE_STEPS: readonly { readonly phase: TimedPhase; readonly run: (run: ShutdownRun) => Promise<void> }[] = [
  { phase: 'draining', run: draining },
  { phase: 'closing', run: closing },
  { phase: 'jobs', run: jobs },
  { phase: 'hooks', run: hooks },
  { phase: 'flushing', run: flushing },
];
