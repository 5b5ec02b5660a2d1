import { ROOT_CONTEXT, SpanKind, context, propagation, trace, type Context, type TextMapGetter } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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
  childEnv,
  contextFromEnv,
  createDefaultPropagator,
  parseTraceparent,
} from '../../src/index.js';
import { boundBaggage, MAX_BAGGAGE_LENGTH, MAX_BAGGAGE_MEMBERS } from '../../src/propagation/propagator.js';
import { MAX_TRACESTATE_HEADER_LENGTH } from '../../src/propagation/trace-state.js';
import { MAX_TRACEPARENT_LENGTH } from '../../src/propagation/w3c-trace-context.js';
import { resetPropagation, useTracing } from '../helpers/otel.js';
import { listen } from '../helpers/server.js';

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
    ['requestIdHeader', '', /Expected `requestIdHeader` to be an HTTP header name \(RFC 9110 token.* got `""` \(string\)/],
    ['requestIdHeader', 'x request id', /Expected `requestIdHeader` to be an HTTP header name .* got `"x request id"` \(string\)/],
    ['requestIdHeader', 'x-request-id\r\nx-evil: 1', /Expected `requestIdHeader`/],
    ['requestIdHeader', 'x:id', /Expected `requestIdHeader`/],
    ['requestIdHeader', 'x-id\u00e9', /Expected `requestIdHeader`/],
    ['requestIdHeader', 'x(id)', /Expected `requestIdHeader`/],
    ['requestIdHeader', 42, /Expected `requestIdHeader` to be an HTTP header name .* got `42` \(number\)/],
    ['requestIdHeader', true, /Expected `requestIdHeader`/],
    ['spanAttributes', {}, /Expected `spanAttributes` to be a function/],
  ];
  for (const [option, value, message] of bad) {
    it(`rejects ${option}: ${JSON.stringify(value)} with a TypeError naming it`, () => {
      assert.throws(() => traceContext({ [option]: value }), (e: unknown) => e instanceof TypeError && message.test(e.message));
    });
  }
  it("accepts every RFC 9110 token as requestIdHeader and echoes it (lower-cased)", async () => {
    const name = "X-Req_ID.v1!#$%&'*+^`|~";
    const app = express();
    app.use(traceContext({ requestIdHeader: name }));
    app.get('/', (_q, r) => void r.end('ok'));
    const res = await request(app).get('/').set(name, 'abc-123').expect(200);
    assert.equal(res.headers[name.toLowerCase()], 'abc-123');
  });
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
    assert.equal(state.set('@a', '1').serialize(), 'a=1,b=2', 'a key cannot start with "@"');
    assert.equal(state.set('a', 'x=y').serialize(), 'a=1,b=2');
    assert.equal(state.set('v@', '1').set('0@@x', '2').serialize(), '0@@x=2,v@=1,a=1,b=2', 'the current key grammar');
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

describe('parseTraceState()', () => {
  it('keeps the first occurrence of a duplicated key and the rest of the header', () => {
    const state = parseTraceState('congo=second,rojo=1,congo=first, rojo=2 ,x=3')!;
    assert.equal(state.serialize(), 'congo=second,rojo=1,x=3');
    assert.equal(state.get('congo'), 'second');
  });
  it('discards a header longer than MAX_TRACESTATE_HEADER_LENGTH (8192) unread, and reads one of exactly that length', () => {
    assert.equal(MAX_TRACESTATE_HEADER_LENGTH, 8192);
    const exact = `a=1${' '.repeat(8192 - 8)}, b=2`;
    assert.equal(exact.length, 8192);
    assert.equal(parseTraceState(exact)?.serialize(), 'a=1,b=2');
    assert.equal(parseTraceState(`${exact} `), undefined);
  });
  it('returns undefined for the space-run header that used to cost ~220 ms, and keeps reading after long OWS runs', () => {
    assert.equal(parseTraceState(`a=1${' '.repeat(16_000)}b`), undefined);
    assert.equal(parseTraceState(`a=1${' '.repeat(4_000)},${'\t'.repeat(4_000)}b=2`)?.serialize(), 'a=1,b=2');
  });
});

describe('parseTraceparent()', () => {
  const VALID = `00-${TRACE_ID}-${PARENT}-01`;
  it('refuses a value longer than MAX_TRACEPARENT_LENGTH (512) before reading it, OWS included', () => {
    assert.equal(MAX_TRACEPARENT_LENGTH, 512);
    assert.equal(parseTraceparent(`${' '.repeat(512 - 55)}${VALID}`)?.traceId, TRACE_ID);
    assert.equal(parseTraceparent(`${' '.repeat(513 - 55)}${VALID}`), undefined);
    assert.equal(parseTraceparent(`${VALID}${'\t'.repeat(16_000)}`), undefined);
  });
  it('trims only spaces and tabs (HTTP OWS), not other whitespace', () => {
    assert.equal(parseTraceparent(` \t${VALID}\t `)?.parentId, PARENT);
    assert.equal(parseTraceparent(`\n${VALID}`), undefined);
    assert.equal(parseTraceparent(`${VALID}\u00a0`), undefined);
  });
  it('never throws on a non-string from a JavaScript caller', () => {
    assert.equal(parseTraceparent(undefined as never), undefined);
    assert.equal(parseTraceparent(42 as never), undefined);
  });
});

describe('baggage bound (createDefaultPropagator())', () => {
  const getter: TextMapGetter<Record<string, string | string[]>> = {
    get: (carrier, key) => carrier[key],
    keys: (carrier) => Object.keys(carrier),
  };
  const extract = (baggage: string | string[]) =>
    Object.fromEntries(
      (propagation.getBaggage(createDefaultPropagator().extract(ROOT_CONTEXT, { baggage }, getter))?.getAllEntries() ?? []).map(
        ([k, v]) => [k, v.value],
      ),
    );
  const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=${i}`);

  it('reads the first 180 list-members (MAX_BAGGAGE_MEMBERS) and drops the rest', () => {
    assert.equal(MAX_BAGGAGE_MEMBERS, 180);
    const got = extract(members(200).join(','));
    assert.equal(Object.keys(got).length, 180);
    assert.equal(got['k179'], '179');
    assert.equal(got['k180'], undefined);
  });
  it('cuts at the last comma inside 8192 characters (MAX_BAGGAGE_LENGTH): whole members only', () => {
    assert.equal(MAX_BAGGAGE_LENGTH, 8192);
    const first = `a=${'x'.repeat(4000)}`;
    const second = `b=${'y'.repeat(4000)}`;
    // 4002 + 1 + 4002 = 8005 characters, then c's value crosses 8192.
    const header = `${first},${second},c=${'z'.repeat(500)}`;
    assert.equal(boundBaggage(header), `${first},${second}`);
    assert.deepEqual(Object.keys(extract(header)), ['a', 'b']);
    assert.equal(boundBaggage(`${first},${second},c=1`), `${first},${second},c=1`, 'a header within both limits is untouched');
  });
  it('drops a single member longer than the limit, and 16,000 commas cost no more than 180', () => {
    assert.deepEqual(extract(`a=${'v'.repeat(9000)}`), {});
    assert.equal(boundBaggage(','.repeat(16_000)), ','.repeat(179));
    assert.deepEqual(extract(`${','.repeat(16_000)}a=1`), {});
  });
  it('reads repeated fields as one list, in order', () => {
    assert.deepEqual(extract(['a=1,b=2', 'c=3']), { a: '1', b: '2', c: '3' });
  });
  it('gives what @opentelemetry/core gives for a header within the limits', () => {
    const header = 'userId=alice, isProduction=false;p=1,bad,%zz=1,k=v%20w';
    const entries = (ctx: Context) =>
      propagation.getBaggage(ctx)?.getAllEntries().map(([k, v]) => [k, v.value, v.metadata?.toString()]);
    const ours = entries(createDefaultPropagator().extract(ROOT_CONTEXT, { baggage: header }, getter));
    assert.deepEqual(ours, entries(new W3CBaggagePropagator().extract(ROOT_CONTEXT, { baggage: header }, getter)));
    assert.deepEqual(ours, [['userId', 'alice', undefined], ['isProduction', 'false', 'p=1'], ['k', 'v w', undefined]]);
  });
});

describe('childEnv() and contextFromEnv() read own properties only', () => {
  const VALID = `00-${TRACE_ID}-${PARENT}-01`;
  // What a child node process sees of the variables that matter here.
  async function seenBySpawnedChild(env: Record<string, string>): Promise<Record<string, string | null>> {
    const script = 'process.stdout.write(JSON.stringify({ NODE_OPTIONS: process.env.NODE_OPTIONS ?? null, TRACEPARENT: process.env.TRACEPARENT ?? null, PROTO: Object.entries(process.env).find(([k]) => k === "__proto__")?.[1] ?? null }))';
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number];
    assert.equal(code, 0, `the child failed: ${err}`);
    return JSON.parse(out) as Record<string, string | null>;
  }

  it('an own "__proto__" key from JSON.parse does not become inherited variables: spawn never sees NODE_OPTIONS', async function () {
    this.timeout(20_000);
    const input = JSON.parse('{"__proto__": {"NODE_OPTIONS": "--require=/nonexistent.js", "TRACEPARENT": "x"}, "HOME": "/h"}') as Record<string, string>;
    const env = childEnv(input);
    assert.equal(Object.getPrototypeOf(env), null);
    assert.deepEqual(Object.keys(env), ['HOME']);
    assert.equal('NODE_OPTIONS' in env, false);
    assert.deepEqual(await seenBySpawnedChild(env), { NODE_OPTIONS: null, TRACEPARENT: null, PROTO: null });
  });

  it('a string "__proto__" stays an ordinary own variable of a null-prototype object', async function () {
    this.timeout(20_000);
    const env = childEnv(JSON.parse('{"__proto__": "plain", "HOME": "/h"}') as Record<string, string>);
    assert.equal(Object.getPrototypeOf(env), null);
    assert.deepEqual(Object.entries(env), [['__proto__', 'plain'], ['HOME', '/h']]);
    assert.deepEqual(await seenBySpawnedChild(env), { NODE_OPTIONS: null, TRACEPARENT: null, PROTO: 'plain' });
  });

  it('inherited properties of the input are not copied', () => {
    const env = childEnv(Object.create({ NODE_OPTIONS: '--x', PATH: '/evil' }) as Record<string, string>);
    assert.deepEqual(Object.keys(env), []);
    assert.equal(env['NODE_OPTIONS'], undefined);
  });

  it('contextFromEnv() ignores inherited and __proto__-smuggled trace variables', () => {
    const smuggled = JSON.parse(`{"__proto__": {"TRACEPARENT": "${VALID}"}}`) as Record<string, string>;
    assert.equal(trace.getSpanContext(contextFromEnv(smuggled)), undefined);
    assert.equal(trace.getSpanContext(contextFromEnv(Object.create({ TRACEPARENT: VALID }) as Record<string, string>)), undefined);
    assert.equal(trace.getSpanContext(contextFromEnv({ TRACEPARENT: VALID }))?.traceId, TRACE_ID, 'an own variable is read');
  });
});

describe('docs/getting-started.md "Header limits"', () => {
  it('states the limits the code uses', () => {
    const doc = readFileSync(new URL('../../docs/getting-started.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Header limits'));
    assert.ok(section.includes(`| \`traceparent\` | ${MAX_TRACEPARENT_LENGTH} characters (\`MAX_TRACEPARENT_LENGTH\`)`));
    assert.ok(section.includes(`| \`tracestate\` | ${MAX_TRACESTATE_HEADER_LENGTH} characters for all fields combined (\`MAX_TRACESTATE_HEADER_LENGTH\`)`));
    assert.ok(section.includes(`| \`baggage\` | ${MAX_BAGGAGE_LENGTH} characters and ${MAX_BAGGAGE_MEMBERS} list-members`));
  });
});
