/**
 * Thrown by getters such as {@link getTraceContext} when called where no
 * request (or detached job, or restored carrier) context is active.
 *
 * Fix: call it from code that runs inside a request handled by
 * `traceContext()`, inside `runDetached()`, or inside `runWithContext()`; or
 * use the `tryGet…` variant, which returns `undefined` instead.
 */
export class OutsideContextError extends Error {
  override readonly name = 'OutsideContextError';
  constructor(what: string) {
    super(
      `${what} was called outside a request context. Call it inside a request handled by traceContext(), ` +
        `a runDetached() job or runWithContext(); or use the tryGet… variant, which returns undefined.`,
    );
  }
}

/**
 * Thrown when a one-per-process setup (for example `setupTelemetry()`) is
 * called a second time. Keep the first handle and pass it around instead.
 */
export class AlreadyInitializedError extends Error {
  override readonly name = 'AlreadyInitializedError';
}

/**
 * What a `runDetached()` job's `done` resolves with (`{ ok: false, error }`)
 * when `maxJobs` detached jobs were already waiting or running: the job was
 * never started. The jobs refused in one overflow episode (until the backlog
 * drops below the limit) share one instance. It is counted in `throughline_detached_jobs_settled_total`
 * with `throughline_job_outcome="rejected"`.
 *
 * Fix: find what starts detached work faster than it finishes (a loop, a
 * retry storm) and bound it at the source; move bulk work to a real queue;
 * or, if the backlog is expected, raise the bound with
 * `configureDetached({ maxJobs })`.
 *
 * @example
 * const result = await runDetached(() => 'sent', { name: 'send-mail' }).done;
 * if (!result.ok && result.error instanceof DetachedLimitError) console.warn(result.error.message);
 */
export class DetachedLimitError extends Error {
  override readonly name = 'DetachedLimitError';
  /** The bound in force when the job was refused. */
  readonly maxJobs: number;
  constructor(maxJobs: number) {
    super(
      `throughline: detached job not started: ${maxJobs} detached jobs are already waiting or running ` +
        `(maxJobs). Bound the work where it is started, move bulk work to a queue, or raise the limit with configureDetached({ maxJobs }).`,
    );
    this.maxJobs = maxJobs;
  }
}
