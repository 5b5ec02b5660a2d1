// Modules announce lifecycle facts on node:diagnostics_channel instead of
// calling each other: detached work and shutdown do not depend on telemetry,
// telemetry subscribes when (and only when) setupTelemetry() runs, and a
// publish with no subscriber costs a property read.
import { channel } from 'node:diagnostics_channel';
import type { Server } from 'node:http';

/** The shutdown phases, in order. `running` is before terminate() is called. */
export const SHUTDOWN_PHASES = ['running', 'draining', 'closing', 'jobs', 'hooks', 'flushing', 'stopped'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

/** A detached job started, or settled with an outcome. */
export interface JobEvent {
  readonly type: 'start' | 'settle';
  readonly id: number;
  readonly name: string;
  /** Set on `settle`. */
  readonly outcome?: 'completed' | 'failed' | 'abandoned';
  /** Set on `settle`: time from start to settle (or to abandonment). */
  readonly durationMs?: number;
}

/** The shutdown moved to `phase`; `previous` lasted `previousDurationMs`. */
export interface PhaseEvent {
  readonly phase: ShutdownPhase;
  readonly previous: ShutdownPhase;
  readonly previousDurationMs: number;
}

/** gracefulShutdown() took charge of an HTTP(S) server (telemetry observes its connections). */
export interface ServerEvent {
  readonly server: Server;
}

/**
 * The names of throughline's `node:diagnostics_channel` channels, public so
 * that tools can observe detached jobs ({@link JobEvent}), shutdown phases
 * ({@link PhaseEvent}) and the servers `gracefulShutdown()` owns
 * ({@link ServerEvent}) without a dependency on throughline's internals.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe(CHANNELS.job, (message) => {
 *   const event = message as JobEvent;
 *   if (event.outcome === 'failed') failedJobs++;
 * });
 */
export const CHANNELS = {
  job: 'throughline:detached:job',
  phase: 'throughline:lifecycle:phase',
  server: 'throughline:lifecycle:server',
} as const;

export const jobChannel = channel(CHANNELS.job);
export const phaseChannel = channel(CHANNELS.phase);
export const serverChannel = channel(CHANNELS.server);

export function publish<T extends object>(ch: ReturnType<typeof channel>, message: T): void {
  if (ch.hasSubscribers) ch.publish(message);
}
