import { messageOf } from '../internal/describe.js';
import { withDeadline } from '../lifecycle/deadline.js';

/**
 * A dependency check: resolve (any value) when healthy, throw or reject when
 * not. `signal` aborts when the check's timeout passes.
 *
 * @example
 * const db: HealthCheck = (signal) => pool.query('select 1', { signal });
 */
export type HealthCheck = (signal: AbortSignal) => unknown;

/** The result of one check in a health response. */
export interface CheckResult {
  readonly status: 'pass' | 'fail' | 'timeout';
  readonly durationMs: number;
  /** The error message; only put in responses when `verbose`. */
  readonly error?: string;
}

/** Every check's result, and whether all passed. */
export interface CheckRun {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/**
 * Runs named checks concurrently, each bounded by `timeoutMs`. Single-flight:
 * while a check's previous run has not settled (even past its timeout), later
 * runs wait on that same run instead of starting another, so a hanging
 * database cannot pile up probe queries.
 *
 * @example
 * const run = createCheckRunner({ db: () => pool.query('select 1') }, 1000);
 * const { ok, checks } = await run();
 */
export function createCheckRunner(checks: Readonly<Record<string, HealthCheck>>, timeoutMs: number): () => Promise<CheckRun> {
  const inFlight = new Map<string, Promise<unknown>>();

  function start(name: string, check: HealthCheck, signal: AbortSignal): Promise<unknown> {
    let pending = inFlight.get(name);
    if (!pending) {
      // Promise.resolve().then(): a check that throws synchronously is a failure, not a crash.
      pending = Promise.resolve().then(() => check(signal));
      inFlight.set(name, pending);
      const clear = () => inFlight.delete(name);
      pending.then(clear, clear);
    }
    return pending;
  }

  async function runOne(name: string, check: HealthCheck): Promise<CheckResult> {
    const startedAt = performance.now();
    const outcome = await withDeadline(timeoutMs, (signal) => start(name, check, signal));
    const durationMs = Math.round(performance.now() - startedAt);
    if (outcome.status === 'ok') return { status: 'pass', durationMs };
    if (outcome.status === 'timeout') return { status: 'timeout', durationMs, error: `timed out after ${timeoutMs} ms` };
    const { error } = outcome;
    return { status: 'fail', durationMs, error: messageOf(error) };
  }

  return async function runChecks(): Promise<CheckRun> {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => runOne(name, checks[name]!)));
    const out: Record<string, CheckResult> = {};
    names.forEach((name, i) => (out[name] = results[i]!));
    return { ok: results.every((r) => r.status === 'pass'), checks: out };
  };
}
