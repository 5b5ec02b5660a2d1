// Public observation taps on node:diagnostics_channel, for users' tools: a
// publish with no subscriber costs a property read. throughline's own parts
// do not talk through them (they read the process state, src/internal/state.ts).
import { channel } from 'node:diagnostics_channel';

/** The shutdown phases, in order. `running` is before terminate() is called. */
export const SHUTDOWN_PHASES = ['running', 'draining', 'closing', 'jobs', 'hooks', 'flushing', 'stopped'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

/** A detached job started, or settled with an outcome. */
export interface JobEvent {
  readonly type: 'start' | 'settle';
  readonly id: number;
  readonly name: string;
  /** Set on `settle`. */
  readonly outcome?: 'completed' | 'failed' | 'abandoned' | 'rejected';
  /** Set on `settle`: time from start to settle (or to abandonment). */
  readonly durationMs?: number;
}

/** The shutdown moved to `phase`; `previous` lasted `previousDurationMs`. */
export interface PhaseEvent {
  readonly phase: ShutdownPhase;
  readonly previous: ShutdownPhase;
  readonly previousDurationMs: number;
}

/**
 * The names of throughline's `node:diagnostics_channel` channels, public so
 * that tools can observe detached jobs ({@link JobEvent}), shutdown phases
 * ({@link PhaseEvent}) without a dependency on throughline's internals.
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
} as const;

export const jobChannel = channel(CHANNELS.job);
export const phaseChannel = channel(CHANNELS.phase);

export function publish<T extends object>(ch: ReturnType<typeof channel>, message: T): void {
  if (ch.hasSubscribers) ch.publish(message);
}
