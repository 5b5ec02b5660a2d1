// The continuity checks of the rollout, as pure functions over what the run
// collected, so the verdict is reproducible from the data and testable alone.
import type { ReceivedSpan } from './otlp-receiver.js';

export interface SpanCheck {
  /** Spans every successful order must produce, across both services. */
  readonly expected: number;
  /** Spans of successful orders that arrived. */
  readonly exported: number;
  /** expected - exported, per trace, never negative. */
  readonly lost: number;
  /** All spans the receiver got (includes requests cut off by the end of the load). */
  readonly received: number;
  /** Spans whose parent is neither an exported span nor the incoming traceparent's span. */
  readonly missingParent: number;
  /** Spans on a trace id no client sent. */
  readonly foreignTraceId: number;
}

/**
 * @param incoming trace id -> span id of the `traceparent` the load sent
 * @param succeeded trace ids of requests answered 2xx
 * @param perRequest span names one successful request must produce
 */
export function checkSpans(
  spans: readonly ReceivedSpan[],
  incoming: ReadonlyMap<string, string>,
  succeeded: ReadonlySet<string>,
  perRequest: readonly string[],
): SpanCheck {
  const ids = new Set(spans.map((s) => s.spanId));
  const byTrace = new Map<string, ReceivedSpan[]>();
  let missingParent = 0;
  let foreignTraceId = 0;
  for (const span of spans) {
    const remoteParent = incoming.get(span.traceId);
    if (remoteParent === undefined) foreignTraceId++;
    if (span.parentSpanId !== '' && !ids.has(span.parentSpanId) && span.parentSpanId !== remoteParent) missingParent++;
    const list = byTrace.get(span.traceId) ?? [];
    list.push(span);
    byTrace.set(span.traceId, list);
  }
  let exported = 0;
  let lost = 0;
  for (const traceId of succeeded) {
    const names = (byTrace.get(traceId) ?? []).map((s) => s.name);
    for (const name of perRequest) {
      const at = names.indexOf(name);
      if (at === -1) lost++;
      else {
        names.splice(at, 1);
        exported++;
      }
    }
  }
  return { expected: succeeded.size * perRequest.length, exported, lost, received: spans.length, missingParent, foreignTraceId };
}

export interface RolloutResult {
  readonly durationMs: number;
  readonly requests: { readonly sent: number; readonly succeeded: number; readonly failed: number; readonly cutAtEnd: number };
  readonly spans: SpanCheck;
  readonly jobs: { readonly started: number; readonly completed: number; readonly failed: number; readonly abandoned: number };
  readonly scrapes: {
    readonly attempted: number;
    readonly failed: number;
    /** Why each failed scrape failed, with the second of the run it began in. */
    readonly failures: readonly string[];
  };
  /** Every worker stopped: the ones replaced mid-run (with `replacedInMs`) and the survivors stopped at the end (without). */
  readonly restarts: readonly {
    readonly worker: string;
    /** From forking the replacement until it was ready; absent for a final stop. */
    readonly replacedInMs?: number;
    readonly shutdownMs: number;
    readonly exitCode: number | null;
  }[];
}

/** Every way the run can fail the continuity promise, as readable sentences. */
export function verdict(result: RolloutResult): string[] {
  const problems: string[] = [];
  if (result.requests.succeeded === 0) problems.push('no request succeeded: the load never reached the service');
  if (result.requests.failed > 0) problems.push(`${result.requests.failed} requests failed`);
  if (result.spans.lost > 0) problems.push(`${result.spans.lost} spans of successful requests never reached the receiver`);
  if (result.spans.missingParent > 0) problems.push(`${result.spans.missingParent} spans have a parent that was never exported`);
  if (result.spans.foreignTraceId > 0) problems.push(`${result.spans.foreignTraceId} spans are on a trace id no client sent`);
  if (result.jobs.abandoned > 0) problems.push(`${result.jobs.abandoned} detached jobs were abandoned`);
  if (result.jobs.started !== result.jobs.completed + result.jobs.failed + result.jobs.abandoned)
    problems.push(`detached jobs do not add up: ${JSON.stringify(result.jobs)}`);
  if (result.scrapes.attempted === 0) problems.push('/metrics was never scraped');
  if (result.scrapes.failed > 0)
    problems.push(`${result.scrapes.failed} /metrics scrapes failed: ${result.scrapes.failures.join('; ')}`);
  for (const r of result.restarts) if (r.exitCode !== 0) problems.push(`${r.worker} exited with code ${String(r.exitCode)}`);
  return problems;
}

export function formatReport(result: RolloutResult, problems: readonly string[]): string {
  const { requests, spans, jobs, scrapes } = result;
  const replaced = result.restarts.filter((r) => r.replacedInMs !== undefined).length;
  const lines = [
    `rollout: ${(result.durationMs / 1000).toFixed(1)} s of load, ${replaced} worker(s) replaced under load, ${result.restarts.length - replaced} stopped at the end`,
    `requests   sent ${requests.sent}  succeeded ${requests.succeeded}  failed ${requests.failed}  (cut off by the end of the load: ${requests.cutAtEnd})`,
    `spans      expected ${spans.expected}  exported ${spans.exported}  lost ${spans.lost}  missing parent ${spans.missingParent}  foreign trace id ${spans.foreignTraceId}  (received in all: ${spans.received})`,
    `jobs       started ${jobs.started}  completed ${jobs.completed}  failed ${jobs.failed}  abandoned ${jobs.abandoned}`,
    `/metrics   scrapes ${scrapes.attempted}  failed ${scrapes.failed}`,
    ...result.restarts.map((r) =>
      r.replacedInMs === undefined
        ? `stop       ${r.worker}: shut down in ${r.shutdownMs} ms, exit code ${String(r.exitCode)}`
        : `restart    ${r.worker}: replacement ready in ${r.replacedInMs} ms, old worker shut down in ${r.shutdownMs} ms, exit code ${String(r.exitCode)}`,
    ),
    problems.length === 0 ? 'PASS: no request, span, job or scrape lost' : `FAIL:\n  - ${problems.join('\n  - ')}`,
  ];
  return lines.join('\n');
}
