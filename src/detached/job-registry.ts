import { jobChannel, publish, type JobEvent } from '../internal/channels.js';

/**
 * The defaults of {@link configureDetached}. `maxJobs`: 10,000 jobs waiting
 * or running at once. A waiting job holds about 1.4 KB of heap (200,000
 * never-settling jobs measured +284 MB, bench/detached-flood.mjs), so the
 * bound caps detached work near 15 MB, and abandoning that many at shutdown
 * adds 72-310 ms to jobsTimeoutMs (a loaded 2-core machine), not seconds. A service that means to keep more
 * in flight should use a real queue.
 */
export const DETACHED_DEFAULTS = {
  maxJobs: 10_000,
} as const;

/** A job still running when `drainDetached` gave up on it. */
export interface AbandonedJob {
  readonly id: number;
  readonly name: string;
  /** How long it had been running when abandoned. */
  readonly ageMs: number;
}

/** How many abandoned jobs a drain report (and the shutdown report and log) lists by name: the rest are counted. */
export const ABANDONED_LISTED = 10;

/** What `drainDetached` saw while it waited. */
export interface DrainReport {
  /** Jobs that settled successfully while draining. */
  readonly completed: number;
  /** Jobs that failed while draining. */
  readonly failed: number;
  /**
   * The first {@link ABANDONED_LISTED} (10) jobs still running (or waiting to
   * start) at the deadline, oldest first; `abandonedCount` counts them all.
   * Every one of them had its abort signal fired.
   */
  readonly abandoned: readonly AbandonedJob[];
  /** How many jobs were abandoned in all. */
  readonly abandonedCount: number;
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
  /** Refused by `runDetached()` because `maxJobs` jobs were already waiting or running. */
  rejected: number;
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
  /** Whether `maxJobs` jobs are waiting or running: `runDetached()` refuses more. */
  full(): boolean;
  /**
   * Counts a job refused because the registry was full. Returns the error of
   * this overflow episode (made by `create` on its first refusal, `first`)
   * until the registry is below the limit again.
   */
  reject<E extends Error>(name: string, create: () => E): { readonly error: E; readonly first: boolean };
  /** The bound on jobs waiting or running (`configureDetached({ maxJobs })`). */
  maxJobs(): number;
  setMaxJobs(maxJobs: number): void;
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
export function createJobRegistry(maxJobs: number): JobRegistry {
  const running = new Map<number, TrackedJob>();
  const totals: JobTotals = { completed: 0, failed: 0, abandoned: 0, rejected: 0 };
  let limit = maxJobs;
  // Set when a job is refused, cleared once the registry is below the limit
  // again: one warning per overflow episode, not one per refused call.
  let overflowing: Error | undefined;
  let nextId = 1;
  let idleWaiters: (() => void)[] = [];
  const settleListeners = new Set<(ok: boolean) => void>();

  const remove = (id: number) => {
    if (!running.delete(id)) return false;
    if (overflowing !== undefined && running.size < limit) overflowing = undefined;
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
    full: () => running.size >= limit,
    reject(name, create) {
      totals.rejected++;
      publish<JobEvent>(jobChannel, { type: 'settle', id: 0, name, outcome: 'rejected', durationMs: 0 });
      // One error per episode: an Error (and its stack trace) per refused call
      // was most of the cost of a flood (190,000 refusals in one loop).
      if (overflowing !== undefined) return { error: overflowing as ReturnType<typeof create>, first: false };
      const error = create();
      overflowing = error;
      return { error, first: true };
    },
    maxJobs: () => limit,
    setMaxJobs(value) {
      limit = value;
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
      // One pass, and nothing per job but the abort: the registry is emptied
      // first, so the jobs' own settle() calls from their abort listeners are
      // no-ops, and only the first ABANDONED_LISTED are described.
      const now = performance.now();
      const jobs = [...running.values()];
      running.clear();
      overflowing = undefined;
      totals.abandoned += jobs.length;
      const abandoned = jobs.slice(0, ABANDONED_LISTED).map((job) => ({ id: job.id, name: job.name, ageMs: Math.round(now - job.startedAt) }));
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
      // One reason for all: an Error per job (a stack trace each) was most of
      // the cost of abandoning 10,000 jobs.
      const reason = new Error(`throughline: detached job abandoned at shutdown after ${timeoutMs} ms (drainDetached timeoutMs)`);
      for (const job of jobs) {
        publish<JobEvent>(jobChannel, { type: 'settle', id: job.id, name: job.name, outcome: 'abandoned', durationMs: now - job.startedAt });
        job.controller.abort(reason);
      }
      return { completed, failed, abandoned, abandonedCount: jobs.length };
    },
    abortAll(reason) {
      for (const job of [...running.values()]) {
        remove(job.id);
        job.controller.abort(reason);
      }
    },
  };
}
