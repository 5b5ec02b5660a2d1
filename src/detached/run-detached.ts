import { context, diag, isSpanContextValid, SpanKind, SpanStatusCode, trace, type Span, type SpanOptions } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { ensureContextManager } from '../context/context-manager.js';
import { requestContext } from '../context/request-store.js';
import { errorTypeOf, exceptionOf, messageOf } from '../internal/describe.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';
import {
  expectBoolean,
  expectFunction,
  expectNumber,
  expectOptionsObject,
  expectString,
  rejectUnknownKeys,
} from '../internal/validate.js';
import { DetachedLimitError } from '../errors.js';
import { processState } from '../internal/state.js';
import { trackJob } from './registry.js';

/** What a detached job receives. */
export interface DetachedJobContext {
  /** Aborted when `drainDetached()` gives up on the job at shutdown: stop work and return. */
  readonly signal: AbortSignal;
}

/** A job for {@link runDetached}: sync or async. */
export type DetachedJob<T> = (ctx: DetachedJobContext) => T | PromiseLike<T>;

/** How a detached job ended: what `done` resolves to. It never rejects. */
export type DetachedResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Passed to `onError` with the error. */
export interface DetachedErrorInfo {
  readonly id: number;
  readonly name: string;
}

/** Options of {@link runDetached}. */
export interface RunDetachedOptions {
  /** Span and job name. Default: the job function's name, else `'detached'`. */
  name?: string;
  /** Delay before the job starts. Default `0`: the next macrotask (`setImmediate`). */
  delayMs?: number;
  /**
   * `false` (default): the job's span is a child of the caller's span.
   * `true`: the job's span is the root of a new trace that links to the caller's span
   * (for long-running work that should not stretch the request's trace).
   */
  link?: boolean;
  /** Called with the job's error (after it is recorded on the span and logged). Its own errors are logged. */
  onError?: (error: unknown, info: DetachedErrorInfo) => void;
}

/** What {@link runDetached} returns. */
export interface DetachedHandle<T> {
  /** The job's id in the registry (also in `drainDetached()`'s report); `0` for a job refused past `maxJobs`. */
  readonly id: number;
  /**
   * Settles with the outcome. It never rejects, so ignoring it can never cause an
   * `unhandledRejection`: check `result.ok` when you await it.
   */
  readonly done: Promise<DetachedResult<T>>;
}

/** The defaults of {@link runDetached}'s options. */
export const RUN_DETACHED_DEFAULTS = {
  delayMs: 0,
  link: false,
} as const satisfies RunDetachedOptions;

const KNOWN = ['name', 'delayMs', 'link', 'onError'] as const;

/** `throughline.detached.id`: the job's registry id, to find its span from a drain report. */
export const ATTR_DETACHED_ID = 'throughline.detached.id';

function resolveOptions(job: unknown, input: unknown) {
  expectFunction('job', job);
  const raw = expectOptionsObject('options', input);
  rejectUnknownKeys('runDetached', raw, KNOWN);
  const opts: RunDetachedOptions & { delayMs: number; link: boolean } = { ...RUN_DETACHED_DEFAULTS, ...raw };
  if (opts.name !== undefined) expectString('name', opts.name);
  expectNumber('delayMs', opts.delayMs);
  expectBoolean('link', opts.link);
  if (opts.onError !== undefined) expectFunction('onError', opts.onError);
  return opts;
}

// The explicit outcome past maxJobs: no span, no timer, nothing queued.
function refuse<T>(name: string, refused: { error: DetachedLimitError; first: boolean }, onError: RunDetachedOptions['onError']): DetachedHandle<T> {
  const { error } = refused;
  if (refused.first) {
    diag.warn(`${error.message} First refused: "${name}". Further refusals are counted (outcome "rejected") but not logged until the backlog drops below the limit.`);
  }
  if (onError) {
    try {
      onError(error, { id: 0, name });
    } catch (hookError) {
      diag.error(`throughline: onError of detached job "${name}" threw`, hookError);
    }
  }
  return { id: 0, done: Promise.resolve({ ok: false, error }) };
}

/**
 * Runs `job` later, outside the caller's flow, without losing its trace: the
 * context active at the call is captured and restored for the job, which runs in
 * its own INTERNAL span. The job is tracked until it settles, so
 * `drainDetached()` (and `gracefulShutdown`) wait for it. A failure is recorded
 * on the span, logged through `diag`, passed to `onError`, and never crashes the
 * process. At most `maxJobs` jobs (default 10,000, see `configureDetached()`)
 * wait or run at once: past it the job is not started and `done` resolves
 * `{ ok: false, error: DetachedLimitError }`.
 *
 * @example
 * app.post('/orders', async (req, res) => {
 *   const order = await createOrder(req.body);
 *   runDetached(({ signal }) => sendConfirmation(order, { signal }), { name: 'send-confirmation' });
 *   res.status(201).json(order);
 * });
 */
export function runDetached<T>(job: DetachedJob<T>, options?: RunDetachedOptions): DetachedHandle<Awaited<T>> {
  const opts = resolveOptions(job, options);
  ensureContextManager();
  // A layer span of instrumentation-router or -express is not the job's parent: the request is.
  const captured = requestContext(context.active());
  const name = opts.name ?? (job.name || 'detached');
  const jobs = processState().jobs;
  if (jobs.full()) {
    const maxJobs = jobs.maxJobs();
    return refuse(name, jobs.reject(name, () => new DetachedLimitError(maxJobs)), opts.onError);
  }
  const controller = new AbortController();
  const tracked = trackJob(name, controller);
  const id = tracked.id;

  let resolveDone!: (result: DetachedResult<Awaited<T>>) => void;
  const done = new Promise<DetachedResult<Awaited<T>>>((resolve) => (resolveDone = resolve));

  let span: Span | undefined;
  let finished = false;
  const finish = (result: DetachedResult<Awaited<T>>, abandoned = false) => {
    if (finished) return;
    finished = true;
    controller.signal.removeEventListener('abort', onAbort);
    if (!result.ok) {
      const error = result.error;
      if (span) {
        span.recordException(exceptionOf(error));
        span.setAttribute(ATTR_ERROR_TYPE, abandoned ? 'abandoned' : errorTypeOf(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
      }
      // Abandoned jobs are summarized once by the drain (count and first names),
      // not logged one by one: 176,073 of them once made 16 MB of log.
      if (!abandoned) {
        diag.error(`throughline: detached job "${name}" (#${id}) failed: ${messageOf(error)}`, error);
        if (opts.onError) {
          try {
            opts.onError(error, { id, name });
          } catch (hookError) {
            diag.error(`throughline: onError of detached job "${name}" (#${id}) threw`, hookError);
          }
        }
      }
    }
    span?.end();
    // After drainDetached abandoned the job, the registry has already dropped it
    // and settle() is a no-op.
    tracked.settle(result.ok);
    resolveDone(result);
  };
  // drainDetached aborts the jobs it gives up on: end their spans now so the
  // flush that follows at shutdown still exports them.
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const onAbort = () => {
    clearTimeout(timer);
    clearImmediate(immediate);
    finish({ ok: false, error: controller.signal.reason }, true);
  };
  controller.signal.addEventListener('abort', onAbort, { once: true });

  const start = () => {
    if (finished) return;
    const tracer = trace.getTracer(TRACER_NAME, TRACER_VERSION);
    const callerSpan = trace.getSpanContext(captured);
    const spanOptions: SpanOptions = { kind: SpanKind.INTERNAL, attributes: { [ATTR_DETACHED_ID]: id } };
    if (opts.link) {
      spanOptions.root = true;
      if (callerSpan && isSpanContextValid(callerSpan)) spanOptions.links = [{ context: callerSpan }];
    }
    span = tracer.startSpan(name, spanOptions, captured);
    const jobContext = trace.setSpan(captured, span);
    let outcome: T | PromiseLike<T>;
    try {
      outcome = context.with(jobContext, job, undefined, { signal: controller.signal });
    } catch (error) {
      finish({ ok: false, error });
      return;
    }
    Promise.resolve(outcome).then(
      (value) => finish({ ok: true, value }),
      (error: unknown) => finish({ ok: false, error }),
    );
  };

  if (opts.delayMs === 0) immediate = setImmediate(start);
  else timer = setTimeout(start, opts.delayMs);
  return { id, done };
}
