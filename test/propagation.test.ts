import { SpanKind, context, trace } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import {
  OutsideContextError,
  getTraceContext,
  logFields,
  outgoingHeaders,
  parseTraceState,
  setContextValue,
  traceContext,
  tracedFetch,
  tryGetTraceContext,
  createTraceState,
} from '../src/index.js';
import { resetPropagation, useTracing } from './helpers/otel.js';
import { listen } from './helpers/server.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('outbound propagation', () => {
  const tracing = useTracing();

  it('continues the trace from service A to service B through tracedFetch()', async () => {
    const b = express();
    b.use(traceContext());
    b.get('/inventory/:sku', (req, res) => void res.json({ sku: req.params['sku'], traceId: getTraceContext().traceId }));
    const serviceB = await listen(b);

    const a = express();
    a.use(traceContext());
    a.get('/orders/:id', async (_req, res) => {
      const answer = await tracedFetch(`${serviceB.url}/inventory/42`);
      res.json(await answer.json());
    });
    const res = await request(a).get('/orders/1').set('traceparent', `00-${TRACE_ID}-${PARENT}-01`).expect(200);
    await serviceB.close();

    assert.deepEqual(res.body, { sku: '42', traceId: TRACE_ID });
    const spans = tracing.spans();
    const serverA = spans.find((s) => s.name === 'GET /orders/:id')!;
    const client = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    const serverB = spans.find((s) => s.name === 'GET /inventory/:sku')!;
    assert.equal(serverA.parentSpanContext?.spanId, PARENT);
    assert.equal(client.name, 'GET');
    assert.equal(client.parentSpanContext?.spanId, serverA.spanContext().spanId);
    assert.equal(serverB.spanContext().traceId, TRACE_ID);
    assert.equal(serverB.parentSpanContext?.spanId, client.spanContext().spanId, "B's parent is A's client span");
    assert.equal(client.attributes['http.request.method'], 'GET');
    assert.equal(client.attributes['server.address'], '127.0.0.1');
    assert.equal(client.attributes['server.port'], Number(new URL(serviceB.url).port));
    assert.equal(client.attributes['url.full'], `${serviceB.url}/inventory/42`);
    assert.equal(client.attributes['http.response.status_code'], 200);
  });

  it('marks a failed fetch on the client span and rethrows the same error', async () => {
    const closed = await listen((_q, r) => r.end());
    const url = closed.url;
    await closed.close();
    await assert.rejects(
      context.with(trace.setSpan(context.active(), trace.getTracer('t').startSpan('root')), () => tracedFetch(`${url}/x`)),
      TypeError,
    );
    const client = tracing.spans().find((s) => s.kind === SpanKind.CLIENT)!;
    assert.equal(client.status.code, 2);
    assert.equal(client.attributes['error.type'], 'TypeError');
  });

  it('records url.full with credential query values redacted, the default port, and an aborted call as an error', async () => {
    // An already-aborted signal: fetch rejects before any network I/O.
    const call = tracedFetch('https://api.example.com/v1/items?Signature=abc&page=2&X-Goog-Signature=def', {
      signal: AbortSignal.abort(),
    });
    await assert.rejects(call, (error: Error) => error.name === 'AbortError');
    const client = tracing.spans().find((s) => s.kind === SpanKind.CLIENT)!;
    assert.equal(client.attributes['url.full'], 'https://api.example.com/v1/items?Signature=REDACTED&page=2&X-Goog-Signature=REDACTED');
    assert.equal(client.attributes['server.address'], 'api.example.com');
    assert.equal(client.attributes['server.port'], 443);
    assert.equal(client.attributes['error.type'], 'AbortError');
    assert.equal(client.status.code, 2);
  });

  it('outgoingHeaders() keeps the given headers and adds nothing outside a trace', () => {
    assert.deepEqual(outgoingHeaders({ accept: 'application/json' }), { accept: 'application/json' });
  });
});

describe('API-only mode (no tracer provider registered)', () => {
  before(() => {
    resetPropagation();
    trace.disable();
  });

  it('still carries the incoming trace id to getters and outbound calls', async () => {
    const app = express();
    app.use(traceContext());
    app.get('/', (_q, r) => void r.json({ ids: getTraceContext(), out: outgoingHeaders(), log: logFields() }));
    const res = await request(app).get('/').set('traceparent', `00-${TRACE_ID}-${PARENT}-01`).expect(200);
    assert.equal(res.body.ids.traceId, TRACE_ID);
    // Nothing records a span, so the caller's span id is passed through unchanged.
    assert.equal(res.body.out.traceparent, `00-${TRACE_ID}-${PARENT}-01`);
    assert.deepEqual(res.body.log, { trace_id: TRACE_ID, span_id: PARENT, trace_flags: '01' });
  });

  it('mints a trace id for a request without traceparent so logs still correlate', async () => {
    const app = express();
    app.use(traceContext());
    app.get('/', (_q, r) => void r.json({ ids: getTraceContext(), out: outgoingHeaders() }));
    const res = await request(app).get('/').expect(200);
    assert.match(res.body.ids.traceId, /^[0-9a-f]{32}$/);
    assert.equal(res.body.out.traceparent, `00-${res.body.ids.traceId}-${res.body.ids.spanId}-00`);
  });
});

describe('context getters outside a request', () => {
  it('getTraceContext() throws OutsideContextError naming the fix; tryGetTraceContext() returns undefined', () => {
    assert.throws(() => getTraceContext(), (e: unknown) => e instanceof OutsideContextError && /tryGet/.test(e.message));
    assert.equal(tryGetTraceContext(), undefined);
    assert.deepEqual(logFields(), {});
    assert.throws(() => setContextValue('tenant', 'x'), OutsideContextError);
  });
});

describe('traceContext() options', () => {
  const bad: [string, unknown, RegExp][] = [
    ['ignore', 42, /Expected `ignore` to be an array of paths .* got `42` \(number\)/],
    ['ignore', ['/ok', 7], /Expected `ignore`/],
    ['trustIncoming', 'yes', /Expected `trustIncoming` to be a boolean or a function .* got `"yes"` \(string\)/],
    ['requestIdHeader', '', /Expected `requestIdHeader` to be a non-empty string/],
    ['spanAttributes', {}, /Expected `spanAttributes` to be a function/],
  ];
  for (const [option, value, message] of bad) {
    it(`rejects ${option}: ${JSON.stringify(value)} with a TypeError naming it`, () => {
      assert.throws(() => traceContext({ [option]: value }), (e: unknown) => e instanceof TypeError && message.test(e.message));
    });
  }
  it('rejects unknown (misspelt) options', () => {
    assert.throws(() => traceContext({ trustIncomming: true } as never), /Unknown option `trustIncomming`/);
  });
  it('rejects a non-object', () => {
    assert.throws(() => traceContext('x' as never), /Expected `options` to be an options object/);
  });
});

describe('TraceState', () => {
  it('set() moves the key to the left and refuses invalid members', () => {
    const state = parseTraceState('a=1,b=2')!;
    assert.equal(state.set('b', '3').serialize(), 'b=3,a=1');
    assert.equal(state.set('BAD', '1').serialize(), 'a=1,b=2');
    assert.equal(state.unset('a').serialize(), 'b=2');
    assert.equal(state.get('b'), '2');
  });
  it('truncates to 512 characters: entries over 128 characters first, then from the right', () => {
    const big = 'x'.repeat(200);
    const entries: [string, string][] = [['big', big]];
    for (let i = 0; i < 31; i++) entries.push([`k${i}`, 'v'.repeat(20)]);
    const out = createTraceState(entries).serialize();
    // k0..k9 are 23 characters, k10.. are 24, plus commas: k0..k19 make 489, k20 would make 514.
    assert.equal(out, entries.slice(1, 21).map(([k, v]) => `${k}=${v}`).join(','));
    assert.equal(out.length, 489);
  });
});
