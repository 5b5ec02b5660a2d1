// A minimal OTLP/HTTP trace receiver: enough of the collector's
// `POST /v1/traces` (JSON encoding, the default of
// @opentelemetry/exporter-trace-otlp-http) to count every span the demo
// exports, without running a collector.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One exported span, reduced to what the continuity checks need. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly serviceName: string;
  /** Status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly links: readonly { traceId: string; spanId: string }[];
}

export interface OtlpReceiver {
  /** The URL to give OTLPTraceExporter (`…/v1/traces`). */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Export requests the receiver could not parse. */
  readonly rejected: number;
  close(): Promise<void>;
}

interface OtlpJson {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        status?: { code?: number };
        links?: { traceId: string; spanId: string }[];
      }[];
    }[];
  }[];
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/** Parses an OTLP/JSON export request into spans. Throws on anything else. */
export function parseOtlpJson(body: string): ReceivedSpan[] {
  const payload = JSON.parse(body) as OtlpJson;
  const spans: ReceivedSpan[] = [];
  for (const rs of payload.resourceSpans ?? []) {
    const serviceName = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          serviceName,
          statusCode: s.status?.code ?? 0,
          links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
        });
      }
    }
  }
  return spans;
}

/** Starts the receiver on 127.0.0.1 and a free port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let rejected = 0;
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    readBody(req)
      .then((body) => {
        spans.push(...parseOtlpJson(body.toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      })
      .catch(() => {
        rejected++;
        res.writeHead(400).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    get rejected() {
      return rejected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
