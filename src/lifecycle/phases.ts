// The work of each timed shutdown phase, one function each, in the order
// gracefulShutdown() runs them (PHASE_STEPS). A step reads what it needs from
// the run and writes what it found into `run.found`; the report and the exit
// policy are computed in one place from that (report.ts).
import type { Server } from 'node:http';
import type { Span } from '@opentelemetry/api';
import type { HttpTerminator } from 'http-terminator';
import { drainDetached } from '../detached/registry.js';
import type { ConnectionTracker } from './connections.js';
import { exceptionOf } from '../internal/describe.js';
import { withDeadline } from './deadline.js';
import type { ResolvedShutdownOptions } from './options.js';
import type { RunFindings, TimedPhase } from './report.js';

/** At most this long, a connection opened before closing gets to send its first request. */
export const FIRST_REQUEST_GRACE_MS = 1_000;
/** How long past `closeTimeoutMs` http-terminator may take before closing stops waiting for it. */
export const TERMINATE_MARGIN_MS = 1_000;
/** How long closing waits for the 'close' events of the sockets http-terminator destroyed. */
export const SOCKETS_SETTLE_MS = 1_000;
/**
 * What `closing` may add to `closeTimeoutMs` at most: the worst case of a
 * shutdown is the sum of the phase timeouts plus this (docs/kubernetes.md).
 */
export const CLOSING_MARGINS_MS = FIRST_REQUEST_GRACE_MS + TERMINATE_MARGIN_MS + SOCKETS_SETTLE_MS;

/** One shutdown under way: its inputs and what its phases found. */
export interface ShutdownRun {
  readonly server: Server;
  readonly opts: ResolvedShutdownOptions;
  readonly connections: ConnectionTracker;
  readonly span: Span;
  readonly terminator: HttpTerminator;
  readonly found: RunFindings;
}

const notRunning = (error: unknown) => (error as { code?: unknown } | null)?.code === 'ERR_SERVER_NOT_RUNNING';

async function draining(run: ShutdownRun): Promise<void> {
  run.connections.startDraining();
  if (run.opts.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, run.opts.drainDelayMs));
  run.found.servedWhileDraining = run.connections.counted();
}

async function closing(run: ShutdownRun): Promise<void> {
  const { server, opts, connections, found } = run;
  connections.startClosing();
  // One event-loop turn so that requests already on the wire are parsed and
  // count as in flight, instead of arriving on a socket about to be destroyed.
  await new Promise((resolve) => setImmediate(resolve));
  // http-terminator destroys every socket without a response in progress,
  // including connections a client opened before closing whose request
  // (or TLS handshake) is still on its way: give those a short grace first.
  await connections.firstRequests(Math.min(FIRST_REQUEST_GRACE_MS, opts.closeTimeoutMs / 4));
  // Stop accepting first: http-terminator only calls server.close() after
  // the sockets drained and destroys connections accepted meanwhile, which
  // under node:cluster means the primary keeps routing requests to a worker
  // that resets them. A refused connection is retried elsewhere; a reset one is a failed request.
  const stopped = new Promise<Error | undefined>((resolve) => server.close(resolve));
  // http-terminator: `Connection: close` on in-flight responses, idle
  // keep-alive sockets destroyed now, busy ones at closeTimeoutMs.
  // Bound it ourselves too: a socket it never saw would keep it waiting.
  const closed = await withDeadline(opts.closeTimeoutMs + TERMINATE_MARGIN_MS, () => run.terminator.terminate());
  if (closed.status === 'failed' && !notRunning(closed.error)) opts.logger.warn({ err: closed.error }, 'throughline: closing the server failed');
  const stopError = closed.status === 'timeout' ? undefined : await stopped;
  if (stopError && !notRunning(stopError)) opts.logger.warn({ err: stopError }, 'throughline: server.close() failed');
  // http-terminator resolves before the 'close' events of the sockets it destroyed.
  await connections.settled(SOCKETS_SETTLE_MS);
  found.socketsDestroyed = connections.destroyedBusy();
  if (found.socketsDestroyed > 0 || closed.status === 'timeout') found.timedOut.push('closing');
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
