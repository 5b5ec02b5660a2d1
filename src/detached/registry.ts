// The public face of the process's job registry (src/detached/job-registry.ts),
// which lives in the process state so that the testing reset can empty it.
import { processState } from '../internal/state.js';
import { expectNumber, expectOptionsObject, invalidOption, rejectUnknownKeys } from '../internal/validate.js';
import type { DrainOptions, DrainReport, TrackedJobHandle } from './job-registry.js';

export { ABANDONED_LISTED, DETACHED_DEFAULTS } from './job-registry.js';
export type { AbandonedJob, DrainOptions, DrainReport } from './job-registry.js';

/** Options of {@link configureDetached}. */
export interface ConfigureDetachedOptions {
  /**
   * How many detached jobs may be waiting or running at once, process-wide.
   * Past it, `runDetached()` does not queue the job: its `done` resolves
   * `{ ok: false, error: DetachedLimitError }` at once and the job counts as
   * `rejected`. Default `10_000` ({@link DETACHED_DEFAULTS}).
   */
  maxJobs?: number;
}

/**
 * Sets process-wide limits of detached work. Call it at startup; it applies
 * to jobs started from then on (jobs already running are never cut).
 * `resetState()` from `throughline/testing` puts the defaults back.
 *
 * @example
 * configureDetached({ maxJobs: 50_000 }); // this service fans out more mail than most
 */
export function configureDetached(options: ConfigureDetachedOptions): void {
  const raw = expectOptionsObject('options', options);
  rejectUnknownKeys('configureDetached', raw, ['maxJobs']);
  if (raw['maxJobs'] === undefined) return;
  const maxJobs = expectNumber('maxJobs', raw['maxJobs'], 1);
  if (!Number.isInteger(maxJobs)) throw invalidOption('maxJobs', 'an integer >= 1', maxJobs);
  processState().jobs.setMaxJobs(maxJobs);
}

/** Registers a job in the process's registry; call `settle` exactly once when it ends. */
export function trackJob(name: string, controller: AbortController): TrackedJobHandle {
  return processState().jobs.track(name, controller);
}

/**
 * How many detached jobs are running now.
 *
 * @example
 * if (runningJobCount() > 100) logger.warn('detached work is piling up');
 */
export function runningJobCount(): number {
  return processState().jobs.running();
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
export function drainDetached(options: DrainOptions): Promise<DrainReport> {
  return processState().jobs.drain(options);
}
