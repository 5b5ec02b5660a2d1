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
