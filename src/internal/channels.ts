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

export const jobChannel = channel('throughline:detached:job');
export const phaseChannel = channel('throughline:lifecycle:phase');
export const serverChannel = channel('throughline:lifecycle:server');

export function publish<T extends object>(ch: ReturnType<typeof channel>, message: T): void {
  if (ch.hasSubscribers) ch.publish(message);
}
