// The public face of the process's job registry (src/detached/job-registry.ts),
// which lives in the process state so that the testing reset can empty it.
import { processState } from '../internal/state.js';
import type { DrainOptions, DrainReport, TrackedJobHandle } from './job-registry.js';

export type { AbandonedJob, DrainOptions, DrainReport } from './job-registry.js';

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
