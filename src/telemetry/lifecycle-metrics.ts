// Lifecycle metrics are fed by the diagnostics channels (src/internal/channels.ts)
// rather than by calls from shutdown or detached work: those areas stay free of
// telemetry, and nothing is observed until setupTelemetry() subscribes.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { MeterProvider, ObservableResult } from '@opentelemetry/api';
import {
  jobChannel,
  phaseChannel,
  serverChannel,
  SHUTDOWN_PHASES,
  type JobEvent,
  type PhaseEvent,
  type ServerEvent,
  type ShutdownPhase,
} from '../internal/channels.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';

/**
 * Names of the lifecycle instruments, as created on the meter (Prometheus
 * replaces `.` with `_`, and adds `_total` to the counter).
 *
 * @example
 * // PromQL: throughline_shutdown_phase{throughline_shutdown_phase="draining"} == 1
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
 * Attribute of `throughline.detached.jobs.settled`: completed, failed or abandoned.
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

interface ServerWatch {
  readonly server: Server;
  readonly sockets: Set<Socket>;
  readonly busy: Map<Socket, number>;
  readonly connectionEvent: 'connection' | 'secureConnection';
  readonly onConnection: (socket: Socket) => void;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Creates the lifecycle instruments on `provider` and subscribes them to the
 * diagnostics channels; returns the function that unsubscribes and stops
 * watching servers. Called by {@link setupTelemetry}.
 *
 * @example
 * const stop = subscribeLifecycleMetrics(meterProvider);
 * // ... later, in shutdown():
 * stop();
 */
export function subscribeLifecycleMetrics(provider: MeterProvider): () => void {
  const meter = provider.getMeter(TRACER_NAME, TRACER_VERSION);
  let phase: ShutdownPhase = 'running';
  const runningJobs = new Set<number>();
  const watches = new Map<Server, ServerWatch>();

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
  const jobsSettled = meter.createCounter(LIFECYCLE_METRICS.jobsSettled, {
    description: 'Detached jobs that settled, by outcome (completed, failed, abandoned at shutdown).',
    unit: '{job}',
  });

  const observePhase = (result: ObservableResult) => {
    for (const p of SHUTDOWN_PHASES) result.observe(p === phase ? 1 : 0, { [ATTR_SHUTDOWN_PHASE]: p });
  };
  const observeConnections = (result: ObservableResult) => {
    let active = 0;
    let total = 0;
    for (const watch of watches.values()) {
      total += watch.sockets.size;
      active += watch.busy.size;
    }
    result.observe(active, { [ATTR_CONNECTION_STATE]: 'active' });
    result.observe(total - active, { [ATTR_CONNECTION_STATE]: 'idle' });
  };
  const observeJobs = (result: ObservableResult) => result.observe(runningJobs.size);
  phaseGauge.addCallback(observePhase);
  connections.addCallback(observeConnections);
  jobsRunning.addCallback(observeJobs);

  const onPhase = (message: unknown) => {
    const event = message as PhaseEvent;
    phase = event.phase;
    // `running` lasts from start-up to terminate(): an uptime, not a phase duration.
    if (event.previous !== 'running') {
      phaseDuration.record(event.previousDurationMs / 1000, { [ATTR_SHUTDOWN_PHASE]: event.previous });
    }
  };
  const onJob = (message: unknown) => {
    const event = message as JobEvent;
    if (event.type === 'start') {
      runningJobs.add(event.id);
      return;
    }
    runningJobs.delete(event.id);
    if (event.outcome !== undefined) jobsSettled.add(1, { [ATTR_JOB_OUTCOME]: event.outcome });
  };
  const onServer = (message: unknown) => {
    const { server } = message as ServerEvent;
    if (!watches.has(server)) watches.set(server, watchServer(server));
  };
  subscribe(phaseChannel.name, onPhase);
  subscribe(jobChannel.name, onJob);
  subscribe(serverChannel.name, onServer);

  return function unsubscribeLifecycleMetrics() {
    unsubscribe(phaseChannel.name, onPhase);
    unsubscribe(jobChannel.name, onJob);
    unsubscribe(serverChannel.name, onServer);
    phaseGauge.removeCallback(observePhase);
    connections.removeCallback(observeConnections);
    jobsRunning.removeCallback(observeJobs);
    for (const watch of watches.values()) {
      watch.server.removeListener(watch.connectionEvent, watch.onConnection);
      watch.server.removeListener('request', watch.onRequest);
    }
    watches.clear();
  };
}

// Node keeps no public per-state socket list, so count sockets from the moment
// the server is handed over. Connections opened before that are not seen; the
// handover happens at start-up, right after listen().
function watchServer(server: Server): ServerWatch {
  const sockets = new Set<Socket>();
  const busy = new Map<Socket, number>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
    });
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (!sockets.has(socket)) onConnection(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = (busy.get(socket) ?? 1) - 1;
      if (n <= 0) busy.delete(socket);
      else busy.set(socket, n);
    });
  };
  // An https.Server's requests arrive on the TLS socket, not the raw one.
  const connectionEvent = 'setSecureContext' in server ? 'secureConnection' : 'connection';
  server.on(connectionEvent, onConnection);
  server.on('request', onRequest);
  return { server, sockets, busy, connectionEvent, onConnection, onRequest };
}
