// HTTP/2 through a shutdown: sessions get GOAWAY when closing starts,
// in-flight streams finish within closeTimeoutMs, sessions still open then
// are destroyed and counted; no HTTP/1 header ever reaches an HTTP/2 response.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { getTraceContext, gracefulShutdown } from '../../src/index.js';
import { traceContext } from '../../middleware/index.js';
import { resetState } from '../../src/testing.js';
import { deferred, phaseReached } from '../helpers/events.js';
import { installTracing } from '../helpers/otel.js';

const tls = {
  key: readFileSync(new URL('../fixtures/tls/key.pem', import.meta.url)),
  cert: readFileSync(new URL('../fixtures/tls/cert.pem', import.meta.url)),
};
const FAST = { signals: [], drainDelayMs: 0, closeTimeoutMs: 2_000, jobsTimeoutMs: 200, hookTimeoutMs: 200, flushTimeoutMs: 200 } as const;

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

async function listen(handler: Handler, allowHTTP1 = false) {
  const server = http2.createSecureServer({ ...tls, allowHTTP1 }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** An HTTP/2 client session that records the GOAWAY it receives. */
async function connect(origin: string) {
  const session = http2.connect(origin, { ca: tls.cert });
  session.on('error', () => {});
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
  await once(session, 'connect');
  return { session, goaway };
}

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  error?: string;
}
function request(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<H2Reply> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': path, ...headers });
    let status = 0;
    let received: http2.IncomingHttpHeaders = {};
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      received = h;
      status = Number(h[':status']);
    });
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, headers: received, body }));
    stream.on('error', (error: NodeJS.ErrnoException) => resolve({ status, headers: received, body, error: error.code ?? error.message }));
  });
}

/** Collects process warnings for the duration of a test (the HTTP/2 compat API's UnsupportedWarning among them). */
function watchWarnings() {
  const seen: string[] = [];
  const onWarning = (warning: Error) => seen.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  return { seen, stop: () => process.removeListener('warning', onWarning) };
}

describe('gracefulShutdown() over HTTP/2', () => {
  beforeEach(() => resetState());
  afterEach(() => resetState());

  it('sends GOAWAY at closing, lets the in-flight stream finish, closes the sessions: nothing cut, exit 0', async () => {
    const warnings = watchWarnings();
    const arrived = deferred();
    const { server, origin } = await listen((req, res) => {
      arrived.resolve();
      setTimeout(() => res.end('done'), Number(new URL(req.url, 'https://x').searchParams.get('ms')));
    });
    const shutdown = gracefulShutdown(server, FAST);
    const busy = await connect(origin);
    const idle = await connect(origin);
    const reply = request(busy.session, '/work?ms=600');
    await arrived.promise;
    const report = await shutdown.terminate();
    warnings.stop();
    const r = await reply;
    console.log(`      HTTP/2 600 ms stream finished after GOAWAY, closing=${report.durationsMs.closing.toFixed(0)}ms`);
    assert.deepEqual([r.status, r.body, r.error], [200, 'done', undefined]);
    assert.equal(r.headers.connection, undefined);
    assert.equal(await busy.goaway, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(await idle.goaway, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(report.inFlightAtStart, 1);
    assert.equal(report.responsesFinished, 1);
    assert.equal(report.responsesCut, 0);
    assert.equal(report.http2SessionsClosed, 2);
    assert.equal(report.http2SessionsDestroyed, 0);
    assert.equal(report.socketsDestroyed, 0);
    assert.equal(report.exitCode, 0);
    assert.ok(report.durationsMs.closing >= 500 && report.durationsMs.closing < 1_900, `closing took ${report.durationsMs.closing} ms`);
    assert.deepEqual(warnings.seen, []);
    busy.session.close();
    idle.session.close();
  });

  it('destroys a session whose stream outlives closeTimeoutMs and counts it: never 0 destroyed when a stream was cut', async () => {
    const arrived = deferred();
    const { server, origin } = await listen(() => arrived.resolve()); // never answers
    const shutdown = gracefulShutdown(server, { ...FAST, closeTimeoutMs: 300 });
    const { session } = await connect(origin);
    const reply = request(session, '/stuck');
    await arrived.promise;
    const report = await shutdown.terminate();
    const r = await reply;
    assert.notEqual(r.status, 200);
    assert.ok(r.error !== undefined || r.body === '', `the client saw ${JSON.stringify(r)}`);
    assert.equal(report.responsesCut, 1);
    assert.equal(report.http2SessionsDestroyed, 1);
    assert.equal(report.socketsDestroyed, 1);
    assert.deepEqual(report.timedOut, ['closing']);
    assert.equal(report.exitCode, 1);
    session.destroy();
  });

  it('with allowHTTP1: an HTTP/2 and an HTTP/1.1 client side by side both finish; Connection: close on HTTP/1.1 only, no warning', async () => {
    const warnings = watchWarnings();
    let arrivedCount = 0;
    const both = deferred();
    const { server, origin } = await listen((req, res) => {
      if (++arrivedCount === 2) both.resolve();
      setTimeout(() => res.end(`v${req.httpVersion}`), 300);
    }, true);
    const shutdown = gracefulShutdown(server, { ...FAST, drainDelayMs: 100 });
    const h2 = await connect(origin);
    const agent = new https.Agent({ keepAlive: true, ca: tls.cert });
    const onDraining = phaseReached(shutdown, 'draining');
    const terminated = shutdown.terminate();
    await onDraining;
    // Sent while draining: the HTTP/1.1 response gets Connection: close, the HTTP/2 one must not.
    const h2Reply = request(h2.session, '/');
    const h1Reply = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
      const req = https.get(`${origin}/`, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      });
      req.on('error', reject);
    });
    await both.promise;
    const report = await terminated;
    warnings.stop();
    agent.destroy();
    const [a, b] = [await h2Reply, await h1Reply];
    assert.deepEqual([a.status, a.body, a.error, a.headers.connection], [200, 'v2.0', undefined, undefined]);
    assert.deepEqual(b, { status: 200, connection: 'close', body: 'v1.1' });
    assert.equal(await h2.goaway, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(report.servedWhileDraining, 2, 'HTTP/1.1 requests and HTTP/2 streams are counted while draining');
    assert.equal(report.responsesFinished, 2);
    assert.equal(report.responsesCut, 0);
    assert.equal(report.http2SessionsClosed, 1);
    assert.equal(report.socketsDestroyed, 0);
    assert.equal(report.exitCode, 0);
    assert.deepEqual(warnings.seen, []);
    h2.session.close();
  });

  it('traceContext() on an HTTP/2 compatibility handler continues the incoming trace', async () => {
    const tracing = installTracing();
    try {
      const middleware = traceContext();
      const { server, origin } = await listen((req, res) => {
        middleware(req as never, res as never, () => res.end(JSON.stringify(getTraceContext())));
      });
      const shutdown = gracefulShutdown(server, FAST);
      const { session } = await connect(origin);
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parentId = '00f067aa0ba902b7';
      const reply = await request(session, '/h2', { traceparent: `00-${traceId}-${parentId}-01` });
      assert.equal(reply.status, 200);
      const ids = JSON.parse(reply.body) as { traceId: string; spanId: string };
      assert.equal(ids.traceId, traceId);
      const report = await shutdown.terminate();
      assert.equal(report.exitCode, 0);
      session.close();
      const spans = tracing.spans().filter((s) => s.kind === SpanKind.SERVER);
      assert.equal(spans.length, 1);
      assert.equal(spans[0]!.spanContext().traceId, traceId);
      assert.equal(spans[0]!.spanContext().spanId, ids.spanId);
      assert.equal(spans[0]!.parentSpanContext?.spanId, parentId);
    } finally {
      await tracing.shutdown();
    }
  });
});
