import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { phaseChannel, publish, type PhaseEvent, type ShutdownPhase } from '../internal/channels.js';
import { processState } from '../internal/state.js';
import { invalidOption } from '../internal/validate.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';
import { ensureLifecycleMetrics } from '../telemetry/lifecycle-metrics.js';
import { trackConnections, type ShutdownServer } from './connections.js';
import { resolveShutdownOptions, type GracefulShutdownOptions } from './options.js';
import { PHASE_STEPS, type ShutdownRun } from './phases.js';
import { buildReport, createFindings, type RunFindings, type ShutdownReport, type TimedPhase } from './report.js';
import { onSignals } from './signals.js';

export { CLOSING_MARGINS_MS } from './phases.js';

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
  /**
   * Removes every listener this call installed on the process and the server (a
   * shutdown under way keeps its server listeners until `stopped`), so that
   * `gracefulShutdown()` may be called on the server again.
   */
  uninstall(): void;
}

/**
 * Takes charge of an HTTP(S) or HTTP/2 server's shutdown: on SIGTERM/SIGINT (or
 * `terminate()`) readiness flips to draining while the server still serves for
 * `drainDelayMs`, then the server stops accepting and closes each connection
 * politely (HTTP/1 responses get `Connection: close` and idle keep-alive
 * sockets a short grace, HTTP/2 sessions GOAWAY, WebSockets in `websockets`
 * close code 1001, shutdownSignal() aborts for streaming responses); what is
 * still open at `closeTimeoutMs` is destroyed and counted. Then detached jobs
 * drain, `beforeExit` hooks run, telemetry is flushed, and — when a signal
 * started it — the process exits 0 (or 1 when anything was cut, a phase timed
 * out or a hook failed). Call it right after `listen()` so every
 * socket is tracked. One server, one handle: a second call on the same server
 * throws until the first handle's `uninstall()`.
 *
 * @example
 * const server = app.listen(3000);
 * const { terminate } = gracefulShutdown(server, { telemetry, beforeExit: [() => pool.end()] });
 */
export function gracefulShutdown(server: ShutdownServer, options?: GracefulShutdownOptions): GracefulShutdown {
  if (server === null || typeof server !== 'object' || typeof server.close !== 'function') {
    throw invalidOption('server', 'an http.Server or https.Server', server);
  }
  const opts = resolveShutdownOptions(options);
  const { logger } = opts;
  const registry = processState().shutdowns;
  // Claimed before anything is installed: a second call on the server throws and leaves nothing behind.
  const entry = {
    phase: () => current,
    connections: () => connections.counts(),
    uninstall,
  };
  registry.claim(server, entry);
  const connections = trackConnections(server);

  let current: ShutdownPhase = 'running';
  let phaseStartedAt = performance.now();
  const listeners = new Set<(phase: ShutdownPhase, previous: ShutdownPhase) => void>();
  let span: Span | undefined;
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
    for (const listener of [...registry.phaseListeners, ...listeners]) {
      try {
        listener(phase, previous, previousDurationMs);
      } catch (error) {
        logger.error({ err: error, phase }, 'throughline: onPhase listener threw');
      }
    }
    return previousDurationMs;
  }

  async function run(reason: string): Promise<ShutdownReport> {
    const startedAt = performance.now();
    span = trace.getTracer(TRACER_NAME, TRACER_VERSION).startSpan('throughline.shutdown', { root: true, attributes: { 'throughline.shutdown.reason': reason } });
    const shutdown: ShutdownRun = { server, opts, connections, span, found: createFindings(connections.inFlight()) };
    const durationsMs = {} as Record<TimedPhase, number>;
    for (const step of PHASE_STEPS) {
      enter(step.phase);
      // The shutdown span ends before the flush so that it is exported with it.
      if (step.phase === 'flushing') endSpan(span, shutdown.found);
      const stepStartedAt = performance.now();
      await step.run(shutdown);
      durationsMs[step.phase] = performance.now() - stepStartedAt;
    }
    enter('stopped');
    // Stopped: the process state forgets this shutdown (a new one may take the server).
    registry.release(server, entry);
    connections.dispose();
    const report = buildReport(reason, shutdown.found, durationsMs, performance.now() - startedAt);
    logger.info({ report }, 'throughline: shutdown complete');
    return report;
  }

  function terminate(reason = 'terminate()'): Promise<ShutdownReport> {
    if (running === undefined) {
      registry.started();
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

  function uninstall(): void {
    removeSignals();
    registry.release(server, entry);
    // A shutdown under way keeps its own listeners until it has stopped.
    if (running && current !== 'stopped') return;
    connections.dispose();
  }
  ensureLifecycleMetrics();

  return {
    terminate,
    phase: () => current,
    onPhase(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    uninstall,
  };
}

function endSpan(span: Span, found: RunFindings): void {
  span.setAttributes({
    'throughline.shutdown.in_flight_at_start': found.inFlightAtStart,
    'throughline.shutdown.sockets_destroyed': found.socketsDestroyed,
    'throughline.shutdown.jobs_abandoned': found.jobs.abandoned.length,
    'throughline.shutdown.hooks_failed': found.hooksFailed.length,
  });
  if (found.timedOut.length > 0 || found.hooksFailed.length > 0) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: `timed out: ${found.timedOut.join(', ') || 'none'}; hooks failed: ${found.hooksFailed.length}` });
  }
  span.end();
}
