// What traceContext() puts on a request's SERVER span when the request fails,
// shared by its own spans and the instrumentation-http spans it adopts (adopt.ts).
import type { Span } from '@opentelemetry/api';
import { exceptionOf } from '../../src/internal/describe.js';

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
