import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import request from 'supertest';
import { getTraceContext, traceContext } from '../src/index.js';
import { EXPRESS_VARIANTS } from './helpers/express.js';
import { activeIsRoot, installTracing, resetPropagation, type TestTracing } from './helpers/otel.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

for (const { name, express } of EXPRESS_VARIANTS) {
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

    it('continues the incoming trace', async () => {
      const app = express();
      app.use(traceContext());
      app.get('/users/:id', (_req, res) => {
        res.json(getTraceContext());
      });
      const res = await request(app)
        .get('/users/42')
        .set('traceparent', `00-${TRACE_ID}-${PARENT_ID}-01`)
        .expect(200);
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
      assert.equal(span.attributes['http.route'], '/users/:id');
      assert.equal(span.attributes['http.response.status_code'], 200);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    });
  });
}

