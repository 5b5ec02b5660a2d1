import {
  context,
  defaultTextMapGetter,
  diag,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { RPCType, setRPCMetadata } from '@opentelemetry/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  activeSpan,
  createDefaultPropagator,
  getTraceContext,
  outgoingHeaders,
  traceContext,
  tryGetTraceContext,
  type TraceContextInfo,
  type TraceContextOptions,
} from '../../src/index.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { activeIsRoot, captureDiag, resetPropagation, useTracing } from '../helpers/otel.js';
import { SERVER_FLAVOURS, get } from '../helpers/servers.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

// What the custom propagator below hands out: its own header, its own trace.
const CUSTOM_HEADER = 'x-custom-trace';
const CUSTOM_TRACE_ID = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const CUSTOM_SPAN_ID = '00f067aa0ba902b7';

// What instrumentation-http does before Express: a SERVER span on the caller's
// trace, in the context's RPC metadata, ended when the response closes.
function asInstrumentationHttp(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const parent = createDefaultPropagator().extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
  const span = trace.getTracer('@opentelemetry/instrumentation-http').startSpan('GET', { kind: SpanKind.SERVER }, parent);
  res.once('close', () => span.end());
  context.with(setRPCMetadata(trace.setSpan(parent, span), { type: RPCType.HTTP, span }), next);
}

const HEX32 = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads `x-custom-trace: <32 hex>` into a remote, sampled span context; writes the trace id back. */
function customPropagator(): TextMapPropagator {
  return {
    inject(ctx: Context, carrier: unknown, setter: TextMapSetter) {
      const sc = trace.getSpanContext(ctx);
      if (sc) setter.set(carrier, CUSTOM_HEADER, sc.traceId);
    },
    extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
      const raw = getter.get(carrier, CUSTOM_HEADER);
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (typeof value !== 'string' || !HEX32.test(value)) return ctx;
      return trace.setSpanContext(ctx, { traceId: value, spanId: CUSTOM_SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    },
    fields: () => [CUSTOM_HEADER],
  };
}

/** The handler's view of the trace, as JSON can carry it (undefined becomes null). */
function snapshot(info: TraceContextInfo | undefined) {
  return info === undefined
    ? null
    : { traceId: info.traceId, spanId: info.spanId, traceFlags: info.traceFlags, sampled: info.sampled, requestId: info.requestId ?? null };
}

for (const { name, express } of EXPRESS_VARIANTS) {
  describe(`traceContext() options on ${name}`, () => {
    const tracing = useTracing('each');
    afterEach(() => {
      assert.ok(activeIsRoot(), 'the active context is back to root after the test');
    });

    /** An app whose `routes` report the trace their handler sees. */
    function appWith(options: TraceContextOptions, routes: readonly string[]) {
      const app = express();
      app.use(traceContext(options));
      for (const route of routes) app.get(route, (_req, res) => void res.json(snapshot(tryGetTraceContext())));
      return app;
    }

    /** The one request that was ignored saw the incoming ids; the traced one produced exactly one SERVER span. */
    async function assertIgnoredThenTraced(
      app: ReturnType<typeof appWith>,
      ignored: { path: string; headers?: Record<string, string> },
      traced: { path: string; headers?: Record<string, string>; spanName: string },
    ) {
      const skip = request(app).get(ignored.path).set('traceparent', TRACEPARENT).set('x-request-id', 'ign-1');
      for (const [k, v] of Object.entries(ignored.headers ?? {})) void skip.set(k, v);
      const skipped = await skip.expect(200);
      assert.deepEqual(skipped.body, { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, sampled: true, requestId: 'ign-1' });
      assert.equal(skipped.headers['x-request-id'], 'ign-1', 'an ignored request still gets its request id');
      assert.equal(tracing.spans().length, 0, `no span for ${ignored.path}`);

      const keep = request(app).get(traced.path).set('traceparent', TRACEPARENT);
      for (const [k, v] of Object.entries(traced.headers ?? {})) void keep.set(k, v);
      const kept = await keep.expect(200);
      const spans = tracing.spans();
      assert.equal(spans.length, 1, `exactly one span for ${traced.path}`);
      const span = spans[0]!;
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.name, traced.spanName);
      assert.equal(span.spanContext().traceId, TRACE_ID);
      assert.equal(span.parentSpanContext?.spanId, PARENT_ID);
      assert.equal(span.attributes['url.path'], traced.path.split('?')[0]);
      assert.equal(span.attributes['http.response.status_code'], 200);
      assert.deepEqual(kept.body, {
        traceId: TRACE_ID,
        spanId: span.spanContext().spanId,
        traceFlags: 1,
        sampled: true,
        requestId: kept.headers['x-request-id'],
      });
    }

    describe('ignore', () => {
      it('as exact paths: ignores exactly those paths (query stripped), and replaces the default list', async () => {
        const app = appWith({ ignore: ['/skip', '/internal/ping'] }, ['/skip', '/skip/more', '/internal/ping', '/health/live']);
        await assertIgnoredThenTraced(app, { path: '/skip?verbose=1' }, { path: '/skip/more', spanName: 'GET /skip/more' });
        tracing.reset();
        await request(app).get('/internal/ping').expect(200);
        assert.equal(tracing.spans().length, 0, '/internal/ping is ignored');
        // The defaults are replaced, not merged: a health path is traced now.
        await request(app).get('/health/live').expect(200);
        assert.deepEqual(
          tracing.spans().map((s) => [s.kind, s.attributes['url.path']]),
          [[SpanKind.SERVER, '/health/live']],
        );
      });

      it('as a RegExp: ignores matching paths and traces the rest', async () => {
        const app = appWith({ ignore: [/^\/skip(\/|$)/] }, ['/skip', '/skip/deep/er', '/skipper']);
        await assertIgnoredThenTraced(app, { path: '/skip/deep/er?x=1' }, { path: '/skipper', spanName: 'GET /skipper' });
        tracing.reset();
        await request(app).get('/skip').expect(200);
        assert.equal(tracing.spans().length, 0, '/skip matches the RegExp too');
      });

      it('as a predicate: ignores the requests it returns true for, and passes it the request', async () => {
        const seenUrls: string[] = [];
        const app = appWith(
          {
            ignore: (req: IncomingMessage) => {
              seenUrls.push(req.url ?? '');
              return req.headers['x-skip'] === '1';
            },
          },
          ['/same'],
        );
        await assertIgnoredThenTraced(
          app,
          { path: '/same', headers: { 'x-skip': '1' } },
          { path: '/same', headers: { 'x-skip': '0' }, spanName: 'GET /same' },
        );
        assert.deepEqual(seenUrls, ['/same', '/same']);
      });

      it('as a predicate that throws: the request is still served and traced (fallback false), and the error is logged', async () => {
        const seen = captureDiag();
        try {
          const app = express();
          app.use(
            traceContext({
              ignore: () => {
                throw new Error('predicate bug');
              },
            }),
          );
          app.get('/x', (_req, res) => void res.json(snapshot(tryGetTraceContext())));
          const res = await request(app).get('/x').set('traceparent', TRACEPARENT).expect(200);
          const spans = tracing.spans();
          assert.equal(spans.length, 1);
          assert.equal(spans[0]!.kind, SpanKind.SERVER);
          assert.equal(spans[0]!.name, 'GET /x');
          assert.equal(spans[0]!.spanContext().traceId, TRACE_ID);
          assert.equal(spans[0]!.parentSpanContext?.spanId, PARENT_ID);
          assert.equal(res.body.spanId, spans[0]!.spanContext().spanId);
          assert.deepEqual(seen.errors, ['throughline: traceContext option `ignore` threw; using false']);
        } finally {
          diag.disable();
        }
      });
    });

    it('warns once, with THROUGHLINE_UNTRUSTED_ADOPTED, when trustIncoming rejects a trace instrumentation-http already continued', async () => {
      const app = express();
      app.use(asInstrumentationHttp);
      app.use(traceContext({ trustIncoming: false }));
      app.get('/t/:id', (_req, res) => void res.json(snapshot(getTraceContext())));
      const warnings: (Error & { code?: string })[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        for (const id of ['1', '2']) await request(app).get(`/t/${id}`).set('traceparent', TRACEPARENT).expect(200);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings.map((w) => w.code), ['THROUGHLINE_UNTRUSTED_ADOPTED']);
      assert.match(warnings[0]!.message, /requireParentforIncomingSpans/);
      // The span is still adopted (one SERVER span, named after the route): throughline cannot un-continue it.
      const spans = tracing.spans();
      assert.deepEqual(spans.map((span) => [span.name, span.spanContext().traceId]), [['GET /t/:id', TRACE_ID], ['GET /t/:id', TRACE_ID]]);
    });

    it('records a thrown value String() cannot turn into text on an adopted span, and passes it on', async () => {
      const app = express();
      app.use(asInstrumentationHttp);
      app.use(traceContext());
      const hostile = Object.create(null) as object;
      app.get('/boom', () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the non-Error case is the point
        throw hostile;
      });
      let passedOn: unknown;
      app.use((error: unknown, _req: IncomingMessage, res: ServerResponse, _next: () => void) => {
        passedOn = error;
        res.statusCode = 500;
        res.end('failed');
      });
      await request(app).get('/boom').set('traceparent', TRACEPARENT).expect(500);
      assert.equal(passedOn, hostile);
      const [span] = tracing.spans();
      assert.equal(span?.name, 'GET /boom');
      assert.deepEqual(
        span.events.map((e) => [e.name, e.attributes?.['exception.type']]),
        [['exception', 'NonErrorThrown']],
      );
    });

    describe('trustIncoming as a predicate', () => {
      function trustApp() {
        const app = express();
        app.use(traceContext({ trustIncoming: (req) => req.headers['x-internal'] === '1' }));
        app.get('/t', (_req, res) => void res.json(snapshot(getTraceContext())));
        return app;
      }

      it('continues the incoming trace when the predicate returns true', async () => {
        const res = await request(trustApp()).get('/t').set('traceparent', TRACEPARENT).set('x-internal', '1').expect(200);
        const spans = tracing.spans();
        assert.equal(spans.length, 1);
        const span = spans[0]!;
        assert.equal(span.kind, SpanKind.SERVER);
        assert.equal(span.spanContext().traceId, TRACE_ID);
        assert.equal(span.parentSpanContext?.traceId, TRACE_ID);
        assert.equal(span.parentSpanContext?.spanId, PARENT_ID);
        assert.equal(span.parentSpanContext?.isRemote, true);
        assert.deepEqual(span.links, []);
        assert.equal(res.body.traceId, TRACE_ID);
        assert.equal(res.body.spanId, span.spanContext().spanId);
      });

      for (const [label, value] of [
        ['without the header', undefined],
        ['with x-internal: 0', '0'],
      ] as const) {
        it(`starts a new trace linked to the incoming span context ${label}`, async () => {
          const req = request(trustApp()).get('/t').set('traceparent', TRACEPARENT);
          if (value !== undefined) void req.set('x-internal', value);
          const res = await req.expect(200);
          const spans = tracing.spans();
          assert.equal(spans.length, 1);
          const span = spans[0]!;
          assert.equal(span.kind, SpanKind.SERVER);
          const traceId = span.spanContext().traceId;
          assert.match(traceId, HEX32);
          assert.notEqual(traceId, TRACE_ID);
          assert.equal(span.parentSpanContext, undefined);
          assert.equal(span.links.length, 1);
          const link = span.links[0]!.context;
          assert.deepEqual(
            { traceId: link.traceId, spanId: link.spanId, traceFlags: link.traceFlags, isRemote: link.isRemote },
            { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, isRemote: true },
          );
          assert.equal(res.body.traceId, traceId, 'the handler sees the new trace');
          assert.equal(res.body.spanId, span.spanContext().spanId);
        });
      }
    });

    describe('requestIdHeader', () => {
      it("'x-correlation-id': echoes a valid incoming value in that header and exposes it as requestId", async () => {
        const app = express();
        app.use(traceContext({ requestIdHeader: 'x-correlation-id' }));
        app.get('/', (_req, res) => void res.json({ requestId: getTraceContext().requestId ?? null }));
        const res = await request(app).get('/').set('x-correlation-id', 'corr-42').set('x-request-id', 'not-this-one').expect(200);
        assert.equal(res.headers['x-correlation-id'], 'corr-42');
        assert.equal(res.headers['x-request-id'], undefined);
        assert.deepEqual(res.body, { requestId: 'corr-42' });

        const fresh = await request(app).get('/').expect(200);
        assert.match(fresh.headers['x-correlation-id'] as string, UUID);
        assert.deepEqual(fresh.body, { requestId: fresh.headers['x-correlation-id'] });
      });

      it('false: no request id header in the response and requestId undefined', async () => {
        const app = express();
        let seen: TraceContextInfo | undefined;
        app.use(traceContext({ requestIdHeader: false }));
        app.get('/', (_req, res) => {
          seen = getTraceContext();
          res.send('ok');
        });
        const res = await request(app).get('/').set('traceparent', TRACEPARENT).set('x-request-id', 'req-1').expect(200);
        assert.equal(res.headers['x-request-id'], undefined);
        assert.ok(seen);
        assert.equal(seen.requestId, undefined);
        assert.equal(seen.traceId, TRACE_ID);
        assert.equal(tracing.spans().length, 1);
      });
    });

    describe('serverTiming', () => {
      it('true: every response carries server-timing trace;desc= with the server span ids', async () => {
        const app = express();
        app.use(traceContext({ serverTiming: true }));
        app.get('/users/:id', (_req, res) => void res.json(snapshot(getTraceContext())));
        const res = await request(app).get('/users/7').set('traceparent', TRACEPARENT).expect(200);
        const [span] = tracing.spans();
        assert.equal(tracing.spans().length, 1);
        assert.equal(span!.spanContext().traceId, TRACE_ID);
        assert.equal(span!.parentSpanContext?.spanId, PARENT_ID);
        assert.equal(res.headers['server-timing'], `trace;desc=00-${TRACE_ID}-${span!.spanContext().spanId}-01`);
        assert.equal(res.body.spanId, span!.spanContext().spanId);

        // A new trace (no traceparent): the ids are the new span's, and a 404 carries them too.
        tracing.reset();
        const fresh = await request(app).get('/nowhere').expect(404);
        const [root] = tracing.spans();
        assert.equal(fresh.headers['server-timing'], `trace;desc=00-${root!.spanContext().traceId}-${root!.spanContext().spanId}-01`);
      });

      it('true on an ignored request: the ids the handler sees, unsampled flags as sent', async () => {
        const app = express();
        app.use(traceContext({ serverTiming: true, ignore: ['/skip'] }));
        app.get('/skip', (_req, res) => void res.json(snapshot(getTraceContext())));
        const res = await request(app).get('/skip').set('traceparent', `00-${TRACE_ID}-${PARENT_ID}-00`).expect(200);
        assert.equal(tracing.spans().length, 0);
        assert.equal(res.headers['server-timing'], `trace;desc=00-${TRACE_ID}-${PARENT_ID}-00`);
        assert.deepEqual(res.body, { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 0, sampled: false, requestId: res.headers['x-request-id'] });
      });

      it('false (the default): no server-timing header', async () => {
        for (const options of [{}, { serverTiming: false }]) {
          const app = express();
          app.use(traceContext(options));
          app.get('/', (_req, res) => void res.send('ok'));
          const res = await request(app).get('/').set('traceparent', TRACEPARENT).expect(200);
          assert.equal(res.headers['server-timing'], undefined);
        }
      });

      it('a non-boolean throws a TypeError that names the option', () => {
        assert.throws(() => traceContext({ serverTiming: 'yes' as unknown as boolean }), {
          name: 'TypeError',
          message: 'Expected `serverTiming` to be a boolean, got `"yes"` (string)',
        });
      });
    });

    describe('activeSpan()', () => {
      it('is the SERVER span inside a handler and undefined outside a request', async () => {
        assert.equal(activeSpan(), undefined, 'before any request');
        const app = express();
        app.use(traceContext());
        let inHandler: Span | undefined;
        let afterAwait: Span | undefined;
        let recording: boolean | undefined;
        app.get('/a', async (_req, res) => {
          inHandler = activeSpan();
          recording = inHandler?.isRecording();
          await new Promise((r) => setImmediate(r));
          afterAwait = activeSpan();
          res.send('ok');
        });
        await request(app).get('/a').set('traceparent', TRACEPARENT).expect(200);
        const spans = tracing.spans();
        assert.equal(spans.length, 1);
        const server = spans[0]!;
        assert.equal(server.kind, SpanKind.SERVER);
        assert.ok(inHandler);
        assert.deepEqual(inHandler.spanContext(), server.spanContext());
        assert.equal(inHandler.spanContext().traceId, TRACE_ID);
        assert.equal(recording, true);
        assert.equal(afterAwait, inHandler, 'the same span after an await');
        assert.equal(activeSpan(), undefined, 'after the request');
      });
    });

    describe('a registered global propagator', () => {
      afterEach(() => {
        resetPropagation();
      });

      it('is used instead of the built-in W3C fallback, and the fallback is back once it is disabled', async () => {
        const app = express();
        app.use(traceContext());
        app.get('/p', (_req, res) => void res.json({ ...snapshot(getTraceContext()), out: outgoingHeaders() }));

        assert.equal(propagation.setGlobalPropagator(customPropagator()), true);
        const custom = await request(app).get('/p').set(CUSTOM_HEADER, CUSTOM_TRACE_ID).set('traceparent', TRACEPARENT).expect(200);
        const [span] = tracing.spans();
        assert.equal(tracing.spans().length, 1);
        assert.equal(span!.kind, SpanKind.SERVER);
        assert.equal(span!.spanContext().traceId, CUSTOM_TRACE_ID);
        assert.equal(span!.parentSpanContext?.traceId, CUSTOM_TRACE_ID);
        assert.equal(span!.parentSpanContext?.spanId, CUSTOM_SPAN_ID);
        assert.equal(span!.parentSpanContext?.isRemote, true);
        assert.equal(custom.body.traceId, CUSTOM_TRACE_ID);
        assert.deepEqual(custom.body.out, { [CUSTOM_HEADER]: CUSTOM_TRACE_ID }, 'outgoing headers come from the same propagator');

        // A traceparent alone means nothing to the registered propagator: a new trace.
        tracing.reset();
        const ignored = await request(app).get('/p').set('traceparent', TRACEPARENT).expect(200);
        const [fresh] = tracing.spans();
        assert.equal(fresh!.parentSpanContext, undefined);
        assert.notEqual(fresh!.spanContext().traceId, TRACE_ID);
        assert.equal(ignored.body.traceId, fresh!.spanContext().traceId);

        // Disabled: the same app falls back to W3C Trace Context.
        propagation.disable();
        tracing.reset();
        const w3c = await request(app).get('/p').set(CUSTOM_HEADER, CUSTOM_TRACE_ID).set('traceparent', TRACEPARENT).expect(200);
        const [back] = tracing.spans();
        assert.equal(back!.spanContext().traceId, TRACE_ID);
        assert.equal(back!.parentSpanContext?.spanId, PARENT_ID);
        assert.equal(w3c.body.out.traceparent, `00-${TRACE_ID}-${back!.spanContext().spanId}-01`);
        assert.equal(w3c.body.out[CUSTOM_HEADER], undefined);
      });

      it('that throws on extract: the request is served on a new trace and the failure is logged', async () => {
        const app = express();
        app.use(traceContext());
        app.get('/p', (_req, res) => void res.json(snapshot(getTraceContext())));
        const broken = customPropagator();
        broken.extract = () => {
          throw new Error('broken propagator');
        };
        propagation.setGlobalPropagator(broken);
        const seen = captureDiag();
        try {
          const res = await request(app).get('/p').set('traceparent', TRACEPARENT).expect(200);
          const [span] = tracing.spans();
          assert.equal(tracing.spans().length, 1);
          assert.equal(span!.parentSpanContext, undefined);
          assert.notEqual(span!.spanContext().traceId, TRACE_ID);
          assert.equal(res.body.traceId, span!.spanContext().traceId);
          assert.deepEqual(seen.warnings, ['throughline: could not extract a context from the request headers; starting a new trace']);
        } finally {
          diag.disable();
        }
      });
    });

    for (const flavour of SERVER_FLAVOURS) {
      it(`sets url.scheme '${flavour.name}' and server.port on a real ${flavour.name} server`, async () => {
        const app = express();
        app.use(traceContext());
        app.get('/secure/:id', (_req, res) => void res.json(snapshot(getTraceContext())));
        const { server, url } = await flavour.listen(app);
        const agent = flavour.agent(1);
        try {
          const port = (server.address() as AddressInfo).port;
          const reply = await get(`${url}/secure/7?q=1`, agent);
          assert.equal(reply.status, 200);
          const spans = tracing.spans();
          assert.equal(spans.length, 1);
          const span = spans[0]!;
          assert.equal(span.kind, SpanKind.SERVER);
          assert.equal(span.name, 'GET /secure/:id');
          assert.equal(span.attributes['url.scheme'], flavour.name);
          assert.equal(span.attributes['server.address'], '127.0.0.1');
          assert.equal(span.attributes['server.port'], port);
          assert.equal(span.attributes['url.path'], '/secure/7');
          assert.equal(span.attributes['url.query'], 'q=1');
          assert.equal(span.attributes['http.route'], '/secure/:id');
          assert.equal(span.attributes['http.response.status_code'], 200);
          assert.equal(span.attributes['network.protocol.version'], '1.1');
          assert.equal(JSON.parse(reply.body).spanId, span.spanContext().spanId);
        } finally {
          agent.destroy();
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      });
    }
  });
}
