import { SpanKind, SpanStatusCode, context, propagation, trace, type Context } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request as httpRequest } from 'node:http';
import request from 'supertest';
import {
  ERROR_TYPE_ABORTED,
  getContextValue,
  getTraceContext,
  logFields,
  outgoingHeaders,
  runDetached,
  setContextValue,
  traceContext,
  tryGetTraceContext,
} from '../../src/index.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { activeIsRoot, installTracing, resetPropagation, useTracing, type TestTracing } from '../helpers/otel.js';
import { listen } from '../helpers/server.js';
import { routeFromRequest } from '../../middleware/trace-context/route.js';

declare module '../../src/index.js' {
  interface ContextValues {
    tenant: string;
    marker: number;
  }
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

type Req = IncomingMessage;
type Res = ServerResponse;

for (const { name, express, major } of EXPRESS_VARIANTS) {
  describe(`traceContext() on ${name}`, () => {
    let tracing: TestTracing;
    beforeEach(() => {
      resetPropagation();
      tracing = installTracing();
    });
    afterEach(async () => {
      await tracing.shutdown();
      assert.ok(activeIsRoot(), 'the active context is back to root after the test');
    });

    it('getTraceContext() and runDetached() name the SERVER span under a layer span of instrumentation-router, not under an app span', async () => {
      const app = express();
      app.use(traceContext());
      // What instrumentation-router does around every layer: a span of its own, active for the handler.
      app.use((_req: Req, _res: Res, next: () => void) => {
        const layer = trace.getTracer('@opentelemetry/instrumentation-router').startSpan('middleware - layer');
        context.with(trace.setSpan(context.active(), layer), next);
        layer.end();
      });
      app.get('/orders/:id', async (_req, res) => {
        const inLayer = getTraceContext();
        const job = runDetached(function confirm() {});
        const own = trace.getTracer('app').startActiveSpan('load order', (span) => {
          span.end();
          return getTraceContext();
        });
        await job.done;
        res.json({ inLayer, own, logs: logFields() });
      });
      const res = await request(app).get('/orders/7').set('traceparent', TRACEPARENT).expect(200);
      const [server] = tracing.spansNamed('GET /orders/:id');
      const [layer] = tracing.spansNamed('middleware - layer');
      const [job] = tracing.spansNamed('confirm');
      const [own] = tracing.spansNamed('load order');
      assert.ok(server && layer && job && own);
      const serverId = server.spanContext().spanId;
      assert.equal(layer.parentSpanContext?.spanId, serverId);
      assert.equal(res.body.inLayer.spanId, serverId);
      assert.equal(res.body.inLayer.traceId, TRACE_ID);
      assert.equal(job.parentSpanContext?.spanId, serverId);
      // A span the application started stays what it sees: its parent is the layer span it ran in.
      assert.equal(res.body.own.spanId, own.spanContext().spanId);
      assert.equal(own.parentSpanContext?.spanId, layer.spanContext().spanId);
      assert.equal(res.body.logs.span_id, serverId);
    });

    it('continues the incoming trace with the semantic-convention span', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/users/:id', (_req, res) => {
        res.json(getTraceContext());
      });
      const res = await request(app).get('/users/42?x=1').set('traceparent', TRACEPARENT).set('user-agent', 'probe/1').expect(200);
      const [span] = tracing.spans();
      assert.ok(span);
      assert.equal(span.name, 'GET /users/:id');
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.spanContext().traceId, TRACE_ID);
      assert.equal(span.parentSpanContext?.spanId, PARENT_ID);
      assert.equal(span.parentSpanContext?.isRemote, true);
      assert.equal(span.spanContext().traceFlags, 1);
      assert.equal(res.body.traceId, TRACE_ID);
      assert.equal(res.body.spanId, span.spanContext().spanId);
      assert.equal(res.body.sampled, true);
      const a = span.attributes;
      assert.equal(a['http.request.method'], 'GET');
      assert.equal(a['http.route'], '/users/:id');
      assert.equal(a['url.path'], '/users/42');
      assert.equal(a['url.query'], 'x=1');
      assert.equal(a['url.scheme'], 'http');
      assert.equal(a['http.response.status_code'], 200);
      assert.equal(a['server.address'], '127.0.0.1');
      assert.equal(typeof a['server.port'], 'number');
      assert.equal(a['network.protocol.version'], '1.1');
      assert.equal(a['client.address'], '127.0.0.1');
      assert.equal(a['user_agent.original'], 'probe/1');
      assert.equal(a['error.type'], undefined);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    });

    it('takes server.address and server.port from each request\'s own Host header', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/', (_req, res) => {
        res.end();
      });
      const hosts = ['api.example.com:8443', 'api.example.com:8443', '[::1]:9000', 'shop.example.com', 'api.example.com:8443'];
      for (const host of hosts) await request(app).get('/').set('host', host).expect(200);
      assert.deepEqual(
        tracing.spans().map((s) => [s.attributes['server.address'], s.attributes['server.port']]),
        [
          ['api.example.com', 8443],
          ['api.example.com', 8443],
          ['::1', 9000],
          ['shop.example.com', 80],
          ['api.example.com', 8443],
        ],
      );
    });

    it('carries tracestate and baggage', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/', (_req, res) => {
        const baggage = propagation.getActiveBaggage();
        res.json({ user: baggage?.getEntry('user.id')?.value, out: outgoingHeaders() });
      });
      const res = await request(app)
        .get('/')
        .set('traceparent', TRACEPARENT)
        .set('tracestate', 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')
        .set('baggage', 'user.id=alice,tier=gold')
        .expect(200);
      const [span] = tracing.spans();
      assert.equal(res.body.user, 'alice');
      assert.equal(res.body.out.traceparent, `00-${TRACE_ID}-${span!.spanContext().spanId}-01`);
      assert.equal(res.body.out.tracestate, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
      assert.equal(res.body.out.baggage, 'user.id=alice,tier=gold');
      assert.equal(span!.spanContext().traceState?.serialize(), 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    });

    it('starts a new trace when there is no traceparent', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/', (_req, res) => {
        res.json(getTraceContext());
      });
      const res = await request(app).get('/').expect(200);
      const [span] = tracing.spans();
      assert.equal(span!.parentSpanContext, undefined);
      assert.equal(res.body.traceId, span!.spanContext().traceId);
    });

    describe('http.route', () => {
      const cases: { route: string; path: string; setup: (app: ReturnType<typeof express>) => void }[] = [
        {
          route: '/items/:id',
          path: '/items/7',
          setup: (app) => app.get('/items/:id', (_q, r) => void r.send('ok')),
        },
        {
          route: '/api/v1/orders/:orderId',
          path: '/api/v1/orders/9',
          setup: (app) => {
            const v1 = express.Router();
            const api = express.Router();
            v1.get('/orders/:orderId', (_q, r) => void r.send('ok'));
            api.use('/v1', v1);
            app.use('/api', api);
          },
        },
        {
          route: '/users/:userId/posts/:postId',
          path: '/users/alice/posts/3',
          setup: (app) => {
            const posts = express.Router({ mergeParams: false });
            posts.get('/:postId', (_q, r) => void r.send('ok'));
            app.use('/users/:userId/posts', posts);
          },
        },
        {
          route: '/admin/stats',
          path: '/admin/stats',
          setup: (app) => {
            const admin = express();
            admin.get('/stats', (_q, r) => void r.send('ok'));
            app.use('/admin', admin);
          },
        },
        {
          route: '/shop',
          path: '/shop',
          setup: (app) => {
            const shop = express.Router();
            shop.get('/', (_q, r) => void r.send('ok'));
            app.use('/shop', shop);
          },
        },
        {
          // The request passes through a mount it does not match inside, then a sibling one.
          route: '/t/:tenant/items/:id',
          path: '/t/acme/items/5',
          setup: (app) => {
            const first = express.Router({ mergeParams: true });
            first.get('/other', (_q, r) => void r.send('other'));
            const items = express.Router({ mergeParams: true });
            items.get('/:id', (_q, r) => void r.send('ok'));
            app.use('/t/:tenant', first);
            app.use('/t/:tenant/items', items);
          },
        },
        major === 5
          ? { route: '/files/*path', path: '/files/a/b.txt', setup: (app) => app.get('/files/*path', (_q, r) => void r.send('ok')) }
          : { route: '/files/*', path: '/files/a/b.txt', setup: (app) => app.get('/files/*', (_q, r) => void r.send('ok')) },
        major === 5
          ? { route: '/opt{/:id}', path: '/opt/5', setup: (app) => app.get('/opt{/:id}', (_q, r) => void r.send('ok')) }
          : { route: '/opt/:id?', path: '/opt/5', setup: (app) => app.get('/opt/:id?', (_q, r) => void r.send('ok')) },
      ];
      for (const c of cases) {
        it(`is ${c.route} for ${c.path}`, async () => {
          const app = express();
          app.use(traceContext());
          c.setup(app);
          await request(app).get(c.path).expect(200);
          const [span] = tracing.spans();
          assert.equal(span!.attributes['http.route'], c.route);
          assert.equal(span!.name, `GET ${c.route}`);
        });
      }

      it('is rebuilt from the request alone when the router layers were not observed', async () => {
        // routeFromRequest() is the fallback for a router whose Layer class throughline did not patch.
        const app = express();
        const posts = express.Router({ mergeParams: true });
        let seen: string | undefined;
        posts.get('/:postId', (req, r) => {
          seen = routeFromRequest(req);
          r.send('ok');
        });
        app.use('/users/:userId/posts', posts);
        await request(app).get('/users/alice/posts/3').expect(200);
        assert.equal(seen, '/users/:userId/posts/:postId');
      });

      it('is absent on a 404, and the span is named after the method only', async () => {
        const app = express();
        app.use(traceContext());
        app.get('/known', (_q, r) => void r.send('ok'));
        await request(app).get('/unknown/123').expect(404);
        const [span] = tracing.spans();
        assert.equal(span!.name, 'GET');
        assert.equal(span!.attributes['http.route'], undefined);
        assert.equal(span!.attributes['http.response.status_code'], 404);
        assert.equal(span!.status.code, SpanStatusCode.UNSET, '4xx is not a server error');
      });

      it('names unknown methods HTTP with http.request.method _OTHER', async () => {
        const app = express();
        app.use(traceContext());
        await request(app)
          .get('/')
          .then(() => undefined);
        tracing.reset();
        const server = await listen(app);
        await new Promise<void>((resolve, reject) => {
          const req = httpRequest(`${server.url}/x`, { method: 'PROPFIND' }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end();
        });
        await server.close();
        const [span] = tracing.spans();
        assert.equal(span!.name, 'HTTP');
        assert.equal(span!.attributes['http.request.method'], '_OTHER');
        assert.equal(span!.attributes['http.request.method_original'], 'PROPFIND');
      });
    });

    describe('errors', () => {
      it('records a synchronous throw as an exception and passes the same error on', async () => {
        const boom = new Error('boom');
        let seen: unknown;
        const app = express();
        app.use(traceContext());
        app.get('/fail', () => {
          throw boom;
        });
        app.use((err: unknown, _req: Req, res: Res, _next: unknown) => {
          seen = err;
          res.statusCode = 500;
          res.end('failed');
        });
        await request(app).get('/fail').expect(500);
        assert.equal(seen, boom, 'the error reaches the error handler unchanged');
        const [span] = tracing.spans();
        assert.equal(span!.status.code, SpanStatusCode.ERROR);
        assert.equal(span!.attributes['error.type'], '500');
        assert.equal(span!.attributes['http.route'], '/fail');
        const events = span!.events.filter((e) => e.name === 'exception');
        assert.equal(events.length, 1);
        assert.equal(events[0]!.attributes?.['exception.message'], 'boom');
        assert.equal(events[0]!.attributes?.['exception.type'], 'Error');
      });

      it('records an async failure (rejected promise on Express 5, next(err) on Express 4)', async () => {
        const app = express();
        app.use(traceContext());
        if (major === 5) {
          app.get('/fail', async () => {
            await Promise.resolve();
            throw new TypeError('async boom');
          });
        } else {
          app.get('/fail', (_req, _res, next) => {
            setTimeout(() => next(new TypeError('async boom')), 1);
          });
        }
        await request(app).get('/fail').expect(500);
        const [span] = tracing.spans();
        const events = span!.events.filter((e) => e.name === 'exception');
        assert.equal(events.length, 1);
        assert.equal(events[0]!.attributes?.['exception.type'], 'TypeError');
        assert.equal(span!.status.code, SpanStatusCode.ERROR);
      });

      it('keeps the request context in error handlers', async () => {
        let inHandler: string | undefined;
        const app = express();
        app.use(traceContext());
        app.get('/fail', (_req, _res, next) => {
          setImmediate(() => next(new Error('x')));
        });
        app.use((_err: unknown, _req: Req, res: Res, _next: unknown) => {
          inHandler = tryGetTraceContext()?.traceId;
          res.statusCode = 503;
          res.end();
        });
        await request(app).get('/fail').set('traceparent', TRACEPARENT).expect(503);
        assert.equal(inHandler, TRACE_ID);
      });
    });

    it('keeps the context active across middleware, awaits, timers, body parsing and finish listeners', async () => {
      const seen: Record<string, string | undefined> = {};
      const app = express();
      app.use(traceContext());
      app.use((_req, _res, next) => {
        seen['middleware'] = tryGetTraceContext()?.traceId;
        next();
      });
      app.use(express.json());
      app.post('/', async (_req, res) => {
        seen['afterBody'] = tryGetTraceContext()?.traceId;
        await new Promise((r) => setTimeout(r, 5));
        seen['afterTimer'] = tryGetTraceContext()?.traceId;
        await new Promise((r) => setImmediate(r));
        seen['afterImmediate'] = tryGetTraceContext()?.traceId;
        res.on('finish', () => {
          seen['finish'] = tryGetTraceContext()?.traceId;
        });
        res.json({ ok: true });
      });
      await request(app).post('/').set('traceparent', TRACEPARENT).send({ a: 1 }).expect(200);
      assert.deepEqual(seen, {
        middleware: TRACE_ID,
        afterBody: TRACE_ID,
        afterTimer: TRACE_ID,
        afterImmediate: TRACE_ID,
        finish: TRACE_ID,
      });
    });

    // Listener counts on req/res once a request is over, with and without
    // traceContext(): whatever Node and Express keep is the baseline.
    async function listenersLeftAfter(withTraceContext: boolean, abort: boolean) {
      const app = express();
      const left = Promise.withResolvers<number[]>();
      const reached = Promise.withResolvers<void>();
      app.use((req, res, next) => {
        res.once('close', () =>
          setImmediate(() =>
            left.resolve(['finish', 'close', 'error'].flatMap((e) => [res.listenerCount(e), req.listenerCount(e)])),
          ),
        );
        next();
      });
      if (withTraceContext) app.use(traceContext());
      app.get('/', (_req, res) => {
        reached.resolve();
        if (!abort) res.send('ok');
      });
      const server = await listen(app);
      const req = httpRequest(`${server.url}/`, (res) => res.resume());
      req.on('error', () => undefined);
      req.end();
      await reached.promise;
      if (abort) req.destroy();
      const counts = await left.promise;
      await server.close();
      return counts;
    }

    it('leaks no listeners on req/res, after a response or a client abort', async () => {
      assert.deepEqual(await listenersLeftAfter(true, false), await listenersLeftAfter(false, false));
      assert.deepEqual(await listenersLeftAfter(true, true), await listenersLeftAfter(false, true));
    });

    it("runs req's and res's close listeners in their own request's context when the client aborts a GET on a reused keep-alive socket", async () => {
      const app = express();
      app.use(traceContext());
      app.get('/fast', (_req, res) => void res.send('ok'));
      const handlerReached = Promise.withResolvers<void>();
      const seen = { req: Promise.withResolvers<string | undefined>(), res: Promise.withResolvers<string | undefined>() };
      app.get('/slow', (req, res) => {
        req.once('close', () => seen.req.resolve(tryGetTraceContext()?.traceId));
        res.once('close', () => seen.res.resolve(tryGetTraceContext()?.traceId));
        handlerReached.resolve();
      });
      const server = await listen(app);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const first = '1'.repeat(32);
      const second = '2'.repeat(32);
      try {
        await new Promise<void>((resolve, reject) => {
          httpRequest(`${server.url}/fast`, { agent, headers: { traceparent: `00-${first}-${PARENT_ID}-01` } }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
            .on('error', reject)
            .end();
        });
        const req = httpRequest(`${server.url}/slow`, { agent, headers: { traceparent: `00-${second}-${PARENT_ID}-01` } });
        req.on('error', () => undefined);
        req.end();
        await handlerReached.promise;
        req.destroy();
        assert.deepEqual([await seen.req.promise, await seen.res.promise], [second, second]);
      } finally {
        agent.destroy();
        await server.close();
      }
    });

    // Node adds its own clearIncoming to a request's 'end' when the response
    // finishes first (a GET nobody read); 'end' then comes from the socket
    // (outside the request's context on Node 22 and 24; Node 26 already emits
    // it in the context that resumed the request). The wrapper leaves that one
    // listener where Node emits it and enters the request's context whenever
    // anything else listens (emit-in.ts).
    it("enters the request's context for a GET's late 'end' only when the application listens to it", async () => {
      const app = express();
      type End = { listeners: string[]; entered: boolean; traceId: string | undefined; heard?: string | undefined };
      const ends: End[] = [];
      const outer: Context[] = [];
      const done = { plain: Promise.withResolvers<void>(), listened: Promise.withResolvers<void>() };
      // Mounted before traceContext(), so its emit() is the one the wrapper calls: it sees the context the wrapper chose.
      app.use((req, _res, next) => {
        const emit = req.emit.bind(req);
        req.emit = (event: string | symbol, ...args: unknown[]) => {
          if (event !== 'end') return emit(event, ...args);
          const listeners = req.rawListeners('end').map((f) => f.name);
          ends.push({ listeners, entered: context.active() !== outer.at(-1), traceId: tryGetTraceContext()?.traceId });
          const result = emit(event, ...args);
          setImmediate(() => (req.url === '/listened' ? done.listened : done.plain).resolve());
          return result;
        };
        next();
      });
      app.use(traceContext());
      // Mounted after: it sees the context 'end' arrives in, before the wrapper.
      app.use((req, _res, next) => {
        const emit = req.emit.bind(req);
        req.emit = (event: string | symbol, ...args: unknown[]) => {
          if (event === 'end') outer.push(context.active());
          return emit(event, ...args);
        };
        next();
      });
      app.get('/plain', (_req, res) => void res.send('ok'));
      app.get('/listened', (req, res) => {
        // Added after Node's own, so the event has two listeners; named like Node's on purpose.
        res.on('finish', () =>
          req.on('end', function clearIncoming() {
            ends.at(-1)!.heard = tryGetTraceContext()?.traceId;
          }),
        );
        res.send('ok');
      });
      const server = await listen(app);
      try {
        await request(server.url).get('/plain').set('traceparent', TRACEPARENT).expect(200);
        await done.plain.promise;
        await request(server.url).get('/listened').set('traceparent', TRACEPARENT).expect(200);
        await done.listened.promise;
      } finally {
        await server.close();
      }
      assert.equal(outer.length, 2);
      const listenedEnteredByWrapper = trace.getSpanContext(outer[1]!)?.traceId !== TRACE_ID;
      assert.deepEqual(ends, [
        { listeners: ['clearIncoming'], entered: false, traceId: trace.getSpanContext(outer[0]!)?.traceId },
        { listeners: ['clearIncoming', 'clearIncoming'], entered: listenedEnteredByWrapper, traceId: TRACE_ID, heard: TRACE_ID },
      ]);
    });

    it('ends the span exactly once and marks a client abort', async () => {
      const app = express();
      app.use(traceContext());
      const handlerReached = Promise.withResolvers<void>();
      const closed = Promise.withResolvers<void>();
      app.get('/slow', (_req, res) => {
        handlerReached.resolve();
        res.on('close', () => setImmediate(() => closed.resolve()));
      });
      const server = await listen(app);
      const req = httpRequest(`${server.url}/slow`);
      req.on('error', () => undefined);
      req.end();
      await handlerReached.promise;
      req.destroy();
      await closed.promise;
      await server.close();
      const spans = tracing.spans();
      assert.equal(spans.length, 1, 'exactly one span');
      assert.equal(spans[0]!.attributes['error.type'], ERROR_TYPE_ABORTED);
      assert.equal(spans[0]!.status.code, SpanStatusCode.ERROR);
      assert.equal(spans[0]!.attributes['http.response.status_code'], undefined, 'no status was sent');
    });

    it('redacts credentials in url.query', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/dl', (_q, r) => void r.send('ok'));
      await request(app).get('/dl?file=a&Signature=s3cr3t&X-Goog-Signature=abc&sig=z').expect(200);
      assert.equal(tracing.spans()[0]!.attributes['url.query'], 'file=a&Signature=REDACTED&X-Goog-Signature=REDACTED&sig=REDACTED');
    });

    it('sets status ERROR on 5xx but not on 4xx', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/bad', (_q, r) => void r.status(400).send('bad'));
      app.get('/down', (_q, r) => void r.status(503).send('down'));
      await request(app).get('/bad').expect(400);
      await request(app).get('/down').expect(503);
      const [bad, down] = tracing.spans();
      assert.equal(bad!.status.code, SpanStatusCode.UNSET);
      assert.equal(bad!.attributes['error.type'], undefined);
      assert.equal(down!.status.code, SpanStatusCode.ERROR);
      assert.equal(down!.attributes['error.type'], '503');
    });

    it('does nothing the second time it is installed', async () => {
      const app = express();
      app.use(traceContext());
      app.use(traceContext());
      app.get('/', (_q, r) => void r.send('ok'));
      await request(app).get('/').expect(200);
      assert.equal(tracing.spans().length, 1);
    });

    it('echoes an incoming request id, and generates one when missing or malformed', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/', (_q, r) => void r.json({ id: getTraceContext().requestId }));
      const given = await request(app).get('/').set('x-request-id', 'req-123').expect(200);
      assert.equal(given.headers['x-request-id'], 'req-123');
      assert.equal(given.body.id, 'req-123');
      const fresh = await request(app).get('/').expect(200);
      assert.match(fresh.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
      assert.equal(fresh.body.id, fresh.headers['x-request-id']);
      const hostile = await request(app).get('/').set('x-request-id', 'a b<script>'.repeat(30)).expect(200);
      assert.match(hostile.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
    });

    it('records no span for ignored paths but still binds the incoming context', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/health/live', (_q, r) => void r.json(getTraceContext()));
      const res = await request(app).get('/health/live').set('traceparent', TRACEPARENT).expect(200);
      assert.equal(res.body.traceId, TRACE_ID);
      assert.equal(tracing.spans().length, 0);
    });

    it('with trustIncoming: false starts a new trace that links to the caller and drops its baggage', async () => {
      const app = express();
      app.use(traceContext({ trustIncoming: false }));
      app.get('/', (_q, r) => void r.json({ baggage: propagation.getActiveBaggage()?.getAllEntries().length ?? 0 }));
      const res = await request(app).get('/').set('traceparent', TRACEPARENT).set('baggage', 'k=v').expect(200);
      const [span] = tracing.spans();
      assert.notEqual(span!.spanContext().traceId, TRACE_ID);
      assert.equal(span!.parentSpanContext, undefined);
      assert.equal(span!.links.length, 1);
      assert.equal(span!.links[0]!.context.traceId, TRACE_ID);
      assert.equal(span!.links[0]!.context.spanId, PARENT_ID);
      assert.equal(res.body.baggage, 0);
    });

    it('adds spanAttributes, and survives a throwing one', async () => {
      const app = express();
      app.use(traceContext({ spanAttributes: (req) => ({ 'app.tenant': String(req.headers['x-tenant']) }) }));
      app.get('/', (_q, r) => void r.send('ok'));
      await request(app).get('/').set('x-tenant', 'acme').expect(200);
      assert.equal(tracing.spans()[0]!.attributes['app.tenant'], 'acme');
      const broken = express();
      broken.use(
        traceContext({
          spanAttributes: () => {
            throw new Error('user bug');
          },
        }),
      );
      broken.get('/', (_q, r) => void r.send('ok'));
      await request(broken).get('/').expect(200);
    });

    it('keeps each request in its own context under a race (fastify-request-context test)', async () => {
      const app = express();
      app.use(traceContext());
      const arrived = { a: Promise.withResolvers<void>(), b: Promise.withResolvers<void>() };
      app.get('/:who', async (req, res) => {
        const who = req.params['who'] as 'a' | 'b';
        setContextValue('tenant', who);
        arrived[who].resolve();
        await arrived[who === 'a' ? 'b' : 'a'].promise;
        res.json({ tenant: getContextValue('tenant'), traceId: getTraceContext().traceId });
      });
      const tA = 'a'.repeat(32);
      const tB = 'b'.repeat(32);
      const [ra, rb] = await Promise.all([
        request(app).get('/a').set('traceparent', `00-${tA}-${PARENT_ID}-01`),
        request(app).get('/b').set('traceparent', `00-${tB}-${PARENT_ID}-01`),
      ]);
      assert.deepEqual(ra.body, { tenant: 'a', traceId: tA });
      assert.deepEqual(rb.body, { tenant: 'b', traceId: tB });
    });
  });
}

for (const { name, express } of EXPRESS_VARIANTS) {
  describe(`traceContext() isolation under load on ${name}`, () => {
    const tracing = useTracing('all');

    it('keeps 1,000 concurrent requests apart: each reads back only its own trace id and values', async function () {
      this.timeout(60_000);
      const app = express();
      app.use(traceContext());
      app.get('/r/:n', async (req, res) => {
        const n = Number(req.params['n']);
        setContextValue('marker', n);
        const observed: (string | number | undefined)[] = [];
        for (let hop = 0; hop < 3; hop++) {
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 8)));
          observed.push(getTraceContext().traceId, getContextValue('marker'));
          await new Promise((r) => setImmediate(r));
          await Promise.resolve();
          observed.push(logFields().trace_id, getContextValue('marker'));
        }
        res.json({ observed });
      });
      const server = await listen(app);
      const N = 1000;
      const traceIdFor = (i: number) => `a${(i + 1).toString(16).padStart(31, '0')}`;
      const get = (i: number) =>
        new Promise<{ observed: (string | number)[] }>((resolve, reject) => {
          const req = httpRequest(`${server.url}/r/${i}`, { headers: { traceparent: `00-${traceIdFor(i)}-${PARENT_ID}-01` } }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(JSON.parse(body) as { observed: (string | number)[] }));
          });
          req.on('error', reject);
          req.end();
        });
      const results = await Promise.all(Array.from({ length: N }, (_, i) => get(i)));
      await server.close();
      let leaks = 0;
      results.forEach((r, i) => {
        for (let k = 0; k < r.observed.length; k += 2) {
          if (r.observed[k] !== traceIdFor(i) || r.observed[k + 1] !== i) leaks++;
        }
      });
      const spans = tracing.spans();
      assert.equal(leaks, 0, `${leaks} observations saw another request's context`);
      assert.equal(spans.length, N);
      assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, N, 'every request has its own trace');
      assert.ok(trace.getActiveSpan() === undefined);
    });
  });
}
