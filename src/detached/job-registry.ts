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

/** Options of `drainDetached`. */
export interface DrainOptions {
  /** How long to wait for running jobs before aborting them. */
  timeoutMs: number;
}

/** How detached jobs ended since the registry was created: what the settled counter reports. */
export interface JobTotals {
  completed: number;
  failed: number;
  abandoned: number;
}

/** One tracked job: call `settle` exactly once when it ends (later calls do nothing). */
export interface TrackedJobHandle {
  readonly id: number;
  settle(ok: boolean): void;
}

/**
 * The detached jobs of a process: who runs, how the others ended, and the
 * drain that shutdown awaits. Built once by the process state
 * (src/internal/state.ts); telemetry reads `running()` and `totals()` when it
 * collects, so jobs started before telemetry was set up are counted too.
 */
export interface JobRegistry {
  track(name: string, controller: AbortController): TrackedJobHandle;
  /** How many jobs are running now. */
  running(): number;
  /** Cumulative outcomes, abandoned included. */
  totals(): Readonly<JobTotals>;
  drain(options: DrainOptions): Promise<DrainReport>;
  /** Aborts every running job without waiting (the testing reset). */
  abortAll(reason: Error): void;
}

interface TrackedJob {
  readonly id: number;
  readonly name: string;
  readonly startedAt: number;
  readonly controller: AbortController;
}

/**
 * Creates an empty job registry.
 *
 * @example
 * const jobs = createJobRegistry();
 * const job = jobs.track('send-mail', new AbortController());
 * job.settle(true);
 */
export function createJobRegistry(): JobRegistry {
  const running = new Map<number, TrackedJob>();
  const totals: JobTotals = { completed: 0, failed: 0, abandoned: 0 };
  let nextId = 1;
  let idleWaiters: (() => void)[] = [];
  const settleListeners = new Set<(ok: boolean) => void>();

  const remove = (id: number) => {
    if (!running.delete(id)) return false;
    if (running.size === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    }
    return true;
  };

  return {
    track(name, controller) {
      const id = nextId++;
      const startedAt = performance.now();
      running.set(id, { id, name, startedAt, controller });
      publish<JobEvent>(jobChannel, { type: 'start', id, name });
      return {
        id,
        settle(ok) {
          if (!running.has(id)) return;
          if (ok) totals.completed++;
          else totals.failed++;
          for (const listener of settleListeners) listener(ok);
          remove(id);
          const outcome = ok ? 'completed' : 'failed';
          publish<JobEvent>(jobChannel, { type: 'settle', id, name, outcome, durationMs: performance.now() - startedAt });
        },
      };
    },
    running: () => running.size,
    totals: () => totals,
    async drain({ timeoutMs }) {
      let completed = 0;
      let failed = 0;
      const count = (ok: boolean) => (ok ? completed++ : failed++);
      settleListeners.add(count);
      let timer: NodeJS.Timeout | undefined;
      try {
        if (running.size > 0) {
          await new Promise<void>((resolve) => {
            idleWaiters.push(resolve);
            // Ref'd on purpose: while a drain waits, its deadline is what keeps
            // the process alive. Unref'd, a job that never settles (and holds no
            // handle) let the event loop empty mid-`jobs`: exit code 0, no hooks,
            // no flush (issue 12). Cleared in `finally`, so it never outlives the drain.
            timer = setTimeout(resolve, timeoutMs);
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
        totals.abandoned++;
        remove(job.id);
        publish<JobEvent>(jobChannel, { type: 'settle', id: job.id, name: job.name, outcome: 'abandoned', durationMs: now - job.startedAt });
        job.controller.abort(new Error(`throughline: detached job "${job.name}" abandoned at shutdown after ${timeoutMs} ms`));
      }
      return { completed, failed, abandoned };
    },
    abortAll(reason) {
      for (const job of [...running.values()]) {
        remove(job.id);
        job.controller.abort(reason);
      }
    },
  };
}
