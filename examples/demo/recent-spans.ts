// So the demo shows its traces without a collector: a SpanExporter that keeps
// the last spans in memory, and a route that prints one trace as a tree. With
// OTEL_EXPORTER_OTLP_ENDPOINT set, the demo exports over OTLP instead.
import { SpanKind } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { RequestHandler } from 'express';

export interface RecentSpans {
  readonly exporter: SpanExporter;
  /**
   * `GET /debug/traces/:traceId`: the spans of one trace, parents before
   * children, and the same as an indented `tree` of lines for reading in a terminal.
   */
  readonly handler: RequestHandler<{ traceId: string }>;
}

export interface SpanLine {
  readonly name: string;
  readonly kind: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly durationMs: number;
  readonly status: 'unset' | 'ok' | 'error';
  readonly depth: number;
}

const STATUS = ['unset', 'ok', 'error'] as const;
const TRACE_ID_RE = /^[0-9a-f]{32}$/;

export function recentSpans(limit = 5_000): RecentSpans {
  const spans: ReadableSpan[] = [];
  const exporter: SpanExporter = {
    export(batch: ReadableSpan[], done: (result: ExportResult) => void) {
      spans.push(...batch);
      if (spans.length > limit) spans.splice(0, spans.length - limit);
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
  };

  const handler: RequestHandler<{ traceId: string }> = (req, res) => {
    if (!TRACE_ID_RE.test(req.params.traceId)) {
      res.status(400).json({ error: 'a trace id is 32 lower-case hex digits, as in a traceparent header' });
      return;
    }
    const trace = spans.filter((s) => s.spanContext().traceId === req.params.traceId);
    const byParent = new Map<string | null, ReadableSpan[]>();
    const ids = new Set(trace.map((s) => s.spanContext().spanId));
    for (const span of trace) {
      // A parent outside this process (the caller's span) counts as the root.
      const parent = span.parentSpanContext?.spanId;
      const key = parent !== undefined && ids.has(parent) ? parent : null;
      byParent.set(key, [...(byParent.get(key) ?? []), span]);
    }
    const lines: SpanLine[] = [];
    const walk = (parent: string | null, depth: number) => {
      for (const span of byParent.get(parent) ?? []) {
        const { spanId } = span.spanContext();
        lines.push({
          name: span.name,
          kind: SpanKind[span.kind],
          spanId,
          parentSpanId: span.parentSpanContext?.spanId ?? null,
          durationMs: Math.round((span.duration[0] * 1e3 + span.duration[1] / 1e6) * 10) / 10,
          status: STATUS[span.status.code],
          depth,
        });
        walk(spanId, depth + 1);
      }
    };
    walk(null, 0);
    if (lines.length === 0) {
      res.status(404).json({
        error:
          'no spans of this trace in memory. Spans are exported in batches about every 5 s, so a trace just ' +
          `sent shows up shortly; one sent with trace flags 00 (not sampled) records none, and only the last ${limit} spans are kept.`,
      });
      return;
    }
    const tree = lines.map((l) => `${'  '.repeat(l.depth)}${l.name} (${l.kind}, ${l.durationMs} ms${l.status === 'error' ? ', error' : ''})`);
    res.json({ traceId: req.params.traceId, tree, spans: lines });
  };

  return { exporter, handler };
}
