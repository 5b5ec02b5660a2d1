/** The outcome of work raced against a deadline. */
export type DeadlineOutcome<T> = { status: 'ok'; value: T } | { status: 'failed'; error: unknown } | { status: 'timeout' };

/**
 * Runs `work` with an abort signal and waits at most `timeoutMs` for it.
 * Never rejects: a throw or rejection becomes `failed`, the deadline `timeout`
 * (and aborts the signal so the work can stop).
 */
export async function withDeadline<T>(timeoutMs: number, work: (signal: AbortSignal) => T | Promise<T>): Promise<DeadlineOutcome<T>> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ status: 'timeout' }>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
      resolve({ status: 'timeout' });
    }, timeoutMs);
  });
  const settled = (async (): Promise<DeadlineOutcome<T>> => {
    try {
      return { status: 'ok', value: await work(controller.signal) };
    } catch (error) {
      return { status: 'failed', error };
    }
  })();
  try {
    return await Promise.race([settled, expired]);
  } finally {
    clearTimeout(timer);
  }
}
