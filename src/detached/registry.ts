import { jobChannel, publish, type JobEvent } from '../internal/channels.js';

/** A job still running when `drainDetached` gave up on it. */
export interface AbandonedJob {
  readonly id: number;
  readonly name: string;
  /** How long it had been running when abandoned. */
  readonly ageMs: number;
}

/** What `drainDetached` saw while it waited. */
export interface DrainReport {
  /** Jobs that settled successfully while draining. */
  readonly completed: number;
  /** Jobs that failed while draining. */
  readonly failed: number;
  /** Jobs still running at the deadline; their abort signal was fired. */
  readonly abandoned: readonly AbandonedJob[];
}

interface TrackedJob {
  readonly id: number;
  readonly name: string;
  readonly startedAt: number;
  readonly controller: AbortController;
}

const running = new Map<number, TrackedJob>();
let nextId = 1;
let idleWaiters: (() => void)[] = [];
const settleListeners = new Set<(ok: boolean) => void>();

/** Registers a job; call the returned function exactly once when it settles. */
export function trackJob(name: string, controller: AbortController): { id: number; settle(ok: boolean): void } {
  const id = nextId++;
  const job: TrackedJob = { id, name, startedAt: performance.now(), controller };
  running.set(id, job);
  publish<JobEvent>(jobChannel, { type: 'start', id, name });
  return {
    id,
    settle(ok) {
      if (!running.delete(id)) return;
      publish<JobEvent>(jobChannel, {
        type: 'settle',
        id,
        name,
        outcome: ok ? 'completed' : 'failed',
        durationMs: performance.now() - job.startedAt,
      });
      for (const listener of settleListeners) listener(ok);
      if (running.size === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    },
  };
}

/** How many detached jobs are running now. */
export function runningJobCount(): number {
  return running.size;
}

/** Options of {@link drainDetached}. */
export interface DrainOptions {
  /** How long to wait for running jobs before aborting them. */
  timeoutMs: number;
}

/**
 * Waits until every detached job has settled, or `timeoutMs` passes; then
 * fires the abort signal of the jobs still running and reports them as
 * abandoned. Resolves at once when nothing runs.
 *
 * @example
 * const report = await drainDetached({ timeoutMs: 10_000 });
 * if (report.abandoned.length > 0) logger.warn({ report }, 'detached jobs abandoned');
 */
export async function drainDetached({ timeoutMs }: DrainOptions): Promise<DrainReport> {
  let completed = 0;
  let failed = 0;
  const count = (ok: boolean) => (ok ? completed++ : failed++);
  settleListeners.add(count);
  let timer: NodeJS.Timeout | undefined;
  try {
    if (running.size > 0) {
      await new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
    }
  } finally {
    clearTimeout(timer);
    settleListeners.delete(count);
  }
  const now = performance.now();
  const abandoned: AbandonedJob[] = [];
  for (const job of running.values()) {
    abandoned.push({ id: job.id, name: job.name, ageMs: Math.round(now - job.startedAt) });
    running.delete(job.id);
    publish<JobEvent>(jobChannel, { type: 'settle', id: job.id, name: job.name, outcome: 'abandoned', durationMs: now - job.startedAt });
    job.controller.abort(new Error(`throughline: detached job "${job.name}" abandoned at shutdown after ${timeoutMs} ms`));
  }
  return { completed, failed, abandoned };
}
