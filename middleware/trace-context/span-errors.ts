// What traceContext() puts on a request's SERVER span when the request fails,
// shared by its own spans and the instrumentation-http spans it adopts (adopt.ts).
import type { Span } from '@opentelemetry/api';
import { exceptionOf } from '../../src/internal/describe.js';

// `error.type` of a request whose client went away before the response
// finished; the duration metric's attribute sets (src/telemetry) use it too.
export { ERROR_TYPE_ABORTED } from '../../src/telemetry/http-server-metrics.js';

/**
 * Puts each distinct error a handler throws or passes to next(err) on `span`,
 * once. Any value is accepted, even one that cannot be turned into a string
 * (`exceptionOf()` describes it without throwing).
 */
export function exceptionRecorder(span: Span): (error: unknown) => void {
  let recorded: Set<unknown> | undefined;
  return (error) => {
    recorded ??= new Set();
    if (recorded.has(error)) return;
    recorded.add(error);
    span.recordException(exceptionOf(error));
  };
}
