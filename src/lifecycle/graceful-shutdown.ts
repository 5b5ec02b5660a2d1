import type { Server } from 'node:http';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { createHttpTerminator } from 'http-terminator';
import { drainDetached } from '../detached/registry.js';
import { phaseChannel, publish, serverChannel, type PhaseEvent, type ServerEvent, type ShutdownPhase } from '../internal/channels.js';
import { shutdownStarted } from '../internal/shutdown-state.js';
import { invalidOption } from '../internal/validate.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';
import { trackConnections } from './connections.js';
import { withDeadline } from './deadline.js';
import { resolveShutdownOptions, type GracefulShutdownOptions } from './options.js';
import type { FlushResult, ShutdownReport, TimedPhase } from './report.js';
import { onSignals } from './signals.js';

/**
 * The handle `gracefulShutdown()` returns.
 *
 * @example
 * const shutdown = gracefulShutdown(server);
 * shutdown.onPhase((phase) => console.log(phase));
 */
export interface GracefulShutdown {
  /** Start the shutdown (or join the one under way): every call returns the same promise. */
  terminate(reason?: string): Promise<ShutdownReport>;
  /** The current phase: `running` until `terminate()`. */
  phase(): ShutdownPhase;
  /** Calls `listener` on every phase change; returns the function that removes it. */
  onPhase(listener: (phase: ShutdownPhase, previous: ShutdownPhase) => void): () => void;
  /** Removes the signal listeners (and the server listeners when not shutting down). */
  uninstall(): void;
}

/** At most this long, a connection opened before closing gets to send its first request. */
const FIRST_REQUEST_GRACE_MS = 1_000;
/** How long past `closeTimeoutMs` http-terminator may take before closing stops waiting for it. */
const TERMINATE_MARGIN_MS = 1_000;
/** How long closing waits for the 'close' events of the sockets http-terminator destroyed. */
const SOCKETS_SETTLE_MS = 1_000;
/**
 * What `closing` may add to `closeTimeoutMs` at most: the worst case of a
 * shutdown is the sum of the phase timeouts plus this (docs/kubernetes.md).
 */
export const CLOSING_MARGINS_MS = FIRST_REQUEST_GRACE_MS + TERMINATE_MARGIN_MS + SOCKETS_SETTLE_MS;

/**
 * Takes charge of an HTTP(S) server's shutdown: on SIGTERM/SIGINT (or
 * `terminate()`) readiness flips to draining while the server still serves for
 * `drainDelayMs`, then the server stops accepting (keep-alive responses get
 * `Connection: close`, idle sockets close, sockets busy at `closeTimeoutMs`
 * are destroyed), detached jobs drain, `beforeExit` hooks run, telemetry is
 * flushed, and — when a signal started it — the process exits 0 (or 1 when a
 * phase timed out or a hook failed). Call it right after `listen()` so every
 * socket is tracked.
 *
 * @example
 * const server = app.listen(3000);
 * const { terminate } = gracefulShutdown(server, { telemetry, beforeExit: [() => pool.end()] });
 */
export function gracefulShutdown(server: Server, options?: GracefulShutdownOptions): GracefulShutdown {
  if (server === null || typeof server !== 'object' || typeof server.close !== 'function') {
    throw invalidOption('server', 'an http.Server or https.Server', server);
  }
  const opts = resolveShutdownOptions(options);
  const { logger } = opts;
  const connections = trackConnections(server);
  const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: opts.closeTimeoutMs });
  publish<ServerEvent>(serverChannel, { server });

  let current: ShutdownPhase = 'running';
  let phaseStartedAt = performance.now();
  const listeners = new Set<(phase: ShutdownPhase, previous: ShutdownPhase) => void>();
  const tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);
  let span: ReturnType<typeof tracer.startSpan> | undefined;
  let running: Promise<ShutdownReport> | undefined;
  let startedBySignal = false;

  function enter(phase: ShutdownPhase): number {
    const now = performance.now();
    const previous = current;
    const previousDurationMs = now - phaseStartedAt;
    current = phase;
    phaseStartedAt = now;
    // The span ends before flushing so the flush exports it: `stopped` is in logs, metrics and the report only.
    if (span?.isRecording()) span.addEvent(`shutdown.${phase}`, { 'throughline.shutdown.previous_duration_ms': Math.round(previousDurationMs) });
    logger.info({ phase, previous, previousDurationMs: Math.round(previousDurationMs) }, `throughline: shutdown phase ${phase}`);
    publish<PhaseEvent>(phaseChannel, { phase, previous, previousDurationMs });
    for (const listener of listeners) {
      try {
        listener(phase, previous);
      } catch (error) {
        logger.error({ err: error, phase }, 'throughline: onPhase listener threw');
      }
    }
    return previousDurationMs;
  }

  async function run(reason: string): Promise<ShutdownReport> {
    const startedAt = performance.now();
    span = tracer.startSpan('throughline.shutdown', { root: true, attributes: { 'throughline.shutdown.reason': reason } });
    const inFlightAtStart = connections.inFlight();
    const durationsMs = {} as Record<TimedPhase, number>;
    const timedOut: TimedPhase[] = [];

    connections.startDraining();
    enter('draining');
    if (opts.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, opts.drainDelayMs));
    const servedWhileDraining = connections.counted();

    durationsMs.draining = enter('closing');
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
    const closed = await withDeadline(opts.closeTimeoutMs + TERMINATE_MARGIN_MS, () => terminator.terminate());
    if (closed.status === 'failed' && (closed.error as { code?: unknown } | null)?.code !== 'ERR_SERVER_NOT_RUNNING') {
      logger.warn({ err: closed.error }, 'throughline: closing the server failed');
    }
    const stopError = closed.status === 'timeout' ? undefined : await stopped;
    if (stopError && (stopError as { code?: unknown }).code !== 'ERR_SERVER_NOT_RUNNING') {
      logger.warn({ err: stopError }, 'throughline: server.close() failed');
    }
    // http-terminator resolves before the 'close' events of the sockets it destroyed.
    await connections.settled(SOCKETS_SETTLE_MS);
    const socketsDestroyed = connections.destroyedBusy();
    if (socketsDestroyed > 0 || closed.status === 'timeout') timedOut.push('closing');

    durationsMs.closing = enter('jobs');
    const jobs = await drainDetached({ timeoutMs: opts.jobsTimeoutMs });
    if (jobs.abandoned.length > 0) {
      timedOut.push('jobs');
      logger.warn({ abandoned: jobs.abandoned }, 'throughline: detached jobs abandoned at shutdown');
    }

    durationsMs.jobs = enter('hooks');
    const hooksFailed: string[] = [];
    for (const [i, hook] of opts.beforeExit.entries()) {
      const name = hook.name || `beforeExit[${i}]`;
      const outcome = await withDeadline(opts.hookTimeoutMs, hook);
      if (outcome.status === 'ok') continue;
      hooksFailed.push(name);
      if (outcome.status === 'timeout') {
        if (!timedOut.includes('hooks')) timedOut.push('hooks');
        logger.error({ hook: name, timeoutMs: opts.hookTimeoutMs }, 'throughline: beforeExit hook timed out');
      } else {
        span.recordException(outcome.error instanceof Error ? outcome.error : String(outcome.error));
        logger.error({ hook: name, err: outcome.error }, 'throughline: beforeExit hook failed');
      }
    }

    durationsMs.hooks = enter('flushing');
    span.setAttributes({
      'throughline.shutdown.in_flight_at_start': inFlightAtStart,
      'throughline.shutdown.sockets_destroyed': socketsDestroyed,
      'throughline.shutdown.jobs_abandoned': jobs.abandoned.length,
      'throughline.shutdown.hooks_failed': hooksFailed.length,
    });
    if (timedOut.length > 0 || hooksFailed.length > 0) span.setStatus({ code: SpanStatusCode.ERROR, message: `timed out: ${timedOut.join(', ') || 'none'}; hooks failed: ${hooksFailed.length}` });
    // The shutdown span ends before the flush so that it is exported with it.
    span.end();
    let flush: FlushResult = 'skipped';
    const { telemetry } = opts;
    if (telemetry) {
      const flushed = await withDeadline(opts.flushTimeoutMs, async () => {
        await telemetry.forceFlush?.();
        await telemetry.shutdown();
      });
      flush = flushed.status;
      if (flushed.status === 'timeout') timedOut.push('flushing');
      if (flushed.status !== 'ok') logger.error({ err: flushed.status === 'failed' ? flushed.error : undefined, flush }, 'throughline: telemetry flush did not complete');
    }
    durationsMs.flushing = enter('stopped');
    connections.dispose();
    const report: ShutdownReport = {
      reason,
      durationsMs,
      totalMs: performance.now() - startedAt,
      inFlightAtStart,
      servedWhileDraining,
      socketsDestroyed,
      jobsCompleted: jobs.completed + jobs.failed,
      jobsAbandoned: jobs.abandoned,
      hooksFailed,
      flush,
      timedOut,
      exitCode: timedOut.length > 0 || hooksFailed.length > 0 || flush === 'failed' ? 1 : 0,
    };
    logger.info({ report }, 'throughline: shutdown complete');
    return report;
  }

  function terminate(reason = 'terminate()'): Promise<ShutdownReport> {
    if (running === undefined) {
      shutdownStarted();
      running = run(reason);
    }
    return running;
  }

  // An injected exit() returns: a forced exit must stay the last word.
  let exited = false;
  const exitOnce = (code: number) => {
    if (exited) return;
    exited = true;
    opts.exit(code);
  };
  const removeSignals = onSignals(opts.signals, (signal) => {
    if (running) {
      if (!opts.forceExitOnSecondSignal) return;
      logger.warn({ signal, phase: current }, 'throughline: second signal, forcing exit');
      exitOnce(1);
      return;
    }
    startedBySignal = true;
    logger.info({ signal }, 'throughline: signal received, shutting down');
    terminate(signal).then(
      (report) => {
        if (startedBySignal) exitOnce(report.exitCode);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'throughline: shutdown failed');
        exitOnce(1);
      },
    );
  });

  return {
    terminate,
    phase: () => current,
    onPhase(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    uninstall() {
      removeSignals();
      if (!running) connections.dispose();
    },
  };
}
