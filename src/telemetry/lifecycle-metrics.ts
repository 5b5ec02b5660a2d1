// Lifecycle metrics read the process state (src/internal/state.ts) when they
// are collected: jobs running and settled, the shutdown phase, each
// gracefulShutdown()'s connections. Nothing is pushed to them, so jobs that
// started, or servers handed to gracefulShutdown(), before the instruments
// existed are counted all the same. Only phase durations are events: they
// happen during a shutdown, long after any setup.
import { createNoopMeter, metrics, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import { SHUTDOWN_PHASES, type ShutdownPhase } from '../internal/channels.js';
import { processState } from '../internal/state.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';

/**
 * Names of the lifecycle instruments, as created on the meter (Prometheus
 * replaces `.` with `_` and appends the unit and, on the counter, `_total`:
 * see docs/metrics.md).
 *
 * @example
 * // PromQL: throughline_shutdown_phase_ratio{throughline_shutdown_phase="draining"} == 1
 * LIFECYCLE_METRICS.phase; // 'throughline.shutdown.phase'
 */
export const LIFECYCLE_METRICS = {
  phase: 'throughline.shutdown.phase',
  phaseDuration: 'throughline.shutdown.phase.duration',
  connections: 'throughline.server.connections',
  jobsRunning: 'throughline.detached.jobs.running',
  jobsSettled: 'throughline.detached.jobs.settled',
} as const;

/**
 * Bucket boundaries (seconds) of `throughline.shutdown.phase.duration`: phases
 * are bounded by timeouts of milliseconds to a minute or two.
 *
 * @example
 * PHASE_DURATION_BUCKETS_SECONDS.at(-1); // 120
 */
export const PHASE_DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120] as const;

/**
 * Attribute of `throughline.shutdown.phase` and `.duration`: the phase name.
 *
 * @example
 * // Prometheus label: throughline_shutdown_phase="draining"
 */
export const ATTR_SHUTDOWN_PHASE = 'throughline.shutdown.phase';
/**
 * Attribute of `throughline.detached.jobs.settled`: completed, failed, abandoned (at shutdown) or rejected (past `maxJobs`).
 *
 * @example
 * // Prometheus label: throughline_job_outcome="abandoned"
 */
export const ATTR_JOB_OUTCOME = 'throughline.job.outcome';
/**
 * Attribute of `throughline.server.connections`: active or idle. The semantic
 * conventions use this key, with these values, for HTTP connection pools.
 *
 * @example
 * // Prometheus label: http_connection_state="idle"
 */
export const ATTR_CONNECTION_STATE = 'http.connection.state';

/**
 * Creates the lifecycle instruments on `provider` (the global meter provider
 * by default) unless it has them already; returns the function that removes
 * them. `setupTelemetry()` calls it with its own provider; `gracefulShutdown()`,
 * `traceContext()` and `healthRoutes()` call it for the global one, so an app
 * that runs the OpenTelemetry NodeSDK instead of `setupTelemetry()` gets them too.
 *
 * @example
 * const remove = ensureLifecycleMetrics(meterProvider);
 * // ... later, in shutdown():
 * remove();
 */
export function ensureLifecycleMetrics(provider: MeterProvider = metrics.getMeterProvider()): () => void {
  const installed = processState().lifecycleMeters;
  const existing = installed.get(provider);
  if (existing) return existing;
  const meter = provider.getMeter(TRACER_NAME, TRACER_VERSION);
  // The API's no-op provider: nothing would ever read these instruments.
  if (meter === createNoopMeter()) return () => {};

  const phaseGauge = meter.createObservableGauge(LIFECYCLE_METRICS.phase, {
    description: 'Current shutdown phase: 1 for the current phase, 0 for the others.',
    unit: '1',
  });
  const phaseDuration = meter.createHistogram(LIFECYCLE_METRICS.phaseDuration, {
    description: 'Duration of each completed shutdown phase.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...PHASE_DURATION_BUCKETS_SECONDS] },
  });
  const connections = meter.createObservableUpDownCounter(LIFECYCLE_METRICS.connections, {
    description: 'Open connections of the servers handed to gracefulShutdown(), by state (active: a request in flight).',
    unit: '{connection}',
  });
  const jobsRunning = meter.createObservableUpDownCounter(LIFECYCLE_METRICS.jobsRunning, {
    description: 'Detached jobs running now.',
    unit: '{job}',
  });
  const jobsSettled = meter.createObservableCounter(LIFECYCLE_METRICS.jobsSettled, {
    description: 'Detached jobs that settled, by outcome (completed, failed, abandoned at shutdown, rejected past maxJobs).',
    unit: '{job}',
  });

  const observePhase = (result: ObservableResult) => {
    const phase = processState().shutdowns.furthestPhase();
    for (const p of SHUTDOWN_PHASES) result.observe(p === phase ? 1 : 0, { [ATTR_SHUTDOWN_PHASE]: p });
  };
  const observeConnections = (result: ObservableResult) => {
    let active = 0;
    let open = 0;
    for (const entry of processState().shutdowns.entries()) {
      const counts = entry.connections();
      open += counts.open;
      active += Math.min(counts.active, counts.open);
    }
    result.observe(active, { [ATTR_CONNECTION_STATE]: 'active' });
    result.observe(open - active, { [ATTR_CONNECTION_STATE]: 'idle' });
  };
  const observeJobsRunning = (result: ObservableResult) => result.observe(processState().jobs.running());
  const observeJobsSettled = (result: ObservableResult) => {
    const totals = processState().jobs.totals();
    for (const outcome of ['completed', 'failed', 'abandoned', 'rejected'] as const) result.observe(totals[outcome], { [ATTR_JOB_OUTCOME]: outcome });
  };
  const onPhase = (_phase: ShutdownPhase, previous: ShutdownPhase, previousDurationMs: number) => {
    // `running` lasts from start-up to terminate(): an uptime, not a phase duration.
    if (previous !== 'running') phaseDuration.record(previousDurationMs / 1000, { [ATTR_SHUTDOWN_PHASE]: previous });
  };
  phaseGauge.addCallback(observePhase);
  connections.addCallback(observeConnections);
  jobsRunning.addCallback(observeJobsRunning);
  jobsSettled.addCallback(observeJobsSettled);
  const listeners = processState().shutdowns.phaseListeners;
  listeners.add(onPhase);

  const remove = function removeLifecycleMetrics() {
    phaseGauge.removeCallback(observePhase);
    connections.removeCallback(observeConnections);
    jobsRunning.removeCallback(observeJobsRunning);
    jobsSettled.removeCallback(observeJobsSettled);
    listeners.delete(onPhase);
    installed.delete(provider);
  };
  installed.set(provider, remove);
  return remove;
}
