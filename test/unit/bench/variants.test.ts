// The bench's variants, each started the way npm run bench starts it (its own
// process, bench/server-client.mjs): a floor that dropped the trace, or a
// throughline variant that answered 500, would still give a CPU figure, and
// the targets would be judged against work that was not done.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from '../../../bench/server-client.mjs';
import { VARIANTS } from '../../../bench/variants/index.mjs';

// Variants that carry the request's trace to the handler (its trace id is the
// body's `requestId`), those that echo `x-request-id`, and those whose
// exporter receives exactly one span a request.
const TRACED = /^(throughline-|floor-|otel-auto$)/;
const ECHOES_REQUEST_ID = /^(throughline-|floor-)/;
const ONE_SPAN_A_REQUEST = /^(throughline-spans|throughline-metrics|floor-spans)/;
const HEX32 = /^[0-9a-f]{32}$/;

async function get(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  return { status: response.status, requestId: response.headers.get('x-request-id'), body: (await response.json()) as { id: string; requestId?: string } };
}

describe('bench variants', function () {
  this.timeout(30_000);

  for (const variant of VARIANTS) {
    it(`${variant.name}: answers the route${TRACED.test(variant.name) ? ' in the incoming trace, and a new one for a malformed traceparent' : ''}`, async function () {
      const server = await startServer(variant.name);
      try {
        const traceId = randomBytes(16).toString('hex');
        const valid = await get(server.url, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, 'x-request-id': 'bench-check-1' });
        const malformed = await get(server.url, { traceparent: `00-${traceId}-zz-01`, 'x-request-id': 'bench-check-2' });
        for (const answer of [valid, malformed]) {
          assert.equal(answer.status, 200);
          assert.equal(answer.body.id, '42');
        }
        if (TRACED.test(variant.name)) {
          assert.equal(valid.body.requestId, traceId);
          assert.match(malformed.body.requestId ?? '', HEX32);
          assert.notEqual(malformed.body.requestId, traceId);
        }
        if (ECHOES_REQUEST_ID.test(variant.name)) assert.deepEqual([valid.requestId, malformed.requestId], ['bench-check-1', 'bench-check-2']);
        const { spans } = await server.stats();
        if (ONE_SPAN_A_REQUEST.test(variant.name)) assert.equal(spans, 2);
        // Auto-instrumentation records its SERVER span and Express's own spans.
        else if (variant.name === 'otel-auto') assert.ok(spans !== undefined && spans > 2, `otel-auto exported ${spans} spans for 2 requests`);
        else assert.equal(spans, undefined);
      } finally {
        await server.stop();
      }
    });
  }
});
