// Issue 12, item 4: which requests setupTelemetry() records, for each sampler,
// incoming sampled flag and incomingSampling. Spans are counted in an
// InMemorySpanExporter behind the real BatchSpanProcessor (flushed).
import { metrics, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import express from 'express';
import { setupTelemetry, type IncomingSampling, type Telemetry } from '../../src/index.js';
import { traceContext } from '../../middleware/index.js';
import { resetState } from '../../src/testing.js';
import { listen } from '../helpers/server.js';

// TraceIdRatioBasedSampler XORs the id's four 32-bit words and samples when
// the result is below ratio * 2^32: these two are below half, those two above.
const LOW_IDS = ['00000000000000000000000000000001', '00000000000000000000000010000000'];
const HIGH_IDS = ['000000000000000000000000f0000000', '000000000000000000000000c0000000'];
const IDS = [...LOW_IDS, ...HIGH_IDS];
const NONE_REQUESTS = 200;

type Incoming = '-01' | '-00' | 'none';

async function recorded(options: { sampler?: ParentBasedSampler; env?: Record<string, string>; incomingSampling?: IncomingSampling }, incoming: Incoming) {
  const saved = { ...process.env };
  Object.assign(process.env, options.env ?? {});
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry | undefined;
  try {
    telemetry = setupTelemetry({
      serviceName: 'sampling',
      runtimeMetrics: false,
      traceExporter: exporter,
      ...(options.sampler && { sampler: options.sampler }),
      ...(options.incomingSampling && { incomingSampling: options.incomingSampling }),
    });
  } finally {
    process.env = saved;
  }
  const app = express();
  app.use(traceContext());
  app.get('/x', (_req, res) => res.end());
  const server = await listen(app);
  try {
    const sent = incoming === 'none' ? Array.from({ length: NONE_REQUESTS }, () => undefined) : IDS;
    for (const id of sent) {
      const headers: Record<string, string> = id === undefined ? {} : { traceparent: `00-${id}-00000000000000aa${incoming}` };
      const res = await fetch(`${server.url}/x`, { headers });
      await res.arrayBuffer();
    }
    await telemetry.forceFlush();
    return exporter.getFinishedSpans();
  } finally {
    await server.close();
    await telemetry.shutdown();
    resetState();
  }
}

const ratioSampler = (ratio: number) => new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });

describe('setupTelemetry() sampling', () => {
  afterEach(() => {
    metrics.disable();
    trace.disable();
    propagation.disable();
  });

  // ratio, incoming, mode -> the trace ids recorded ('~half' for random ids).
  const expected = (ratio: number, incoming: Incoming, mode: IncomingSampling): string[] | 'all' | 'none' | '~half' => {
    if (incoming === 'none') return ratio === 1 ? 'all' : ratio === 0 ? 'none' : '~half';
    if (mode === 'respect') return incoming === '-01' ? IDS : [];
    return ratio === 1 ? IDS : ratio === 0 ? [] : LOW_IDS;
  };

  for (const via of ['sampler option', 'OTEL_TRACES_SAMPLER'] as const) {
    for (const ratio of [0, 1, 0.5]) {
      for (const incoming of ['-01', '-00', 'none'] as const) {
        for (const mode of ['respect', 'ignore'] as const) {
          const want = expected(ratio, incoming, mode);
          it(`${via} parentbased ratio ${ratio}, incoming ${incoming}, ${mode}: records ${Array.isArray(want) ? `${want.length} of 4` : want}`, async () => {
            const options =
              via === 'sampler option'
                ? { sampler: ratioSampler(ratio), incomingSampling: mode }
                : { env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) }, incomingSampling: mode };
            const spans = await recorded(options, incoming);
            if (want === 'all') assert.equal(spans.length, NONE_REQUESTS);
            else if (want === 'none') assert.equal(spans.length, 0);
            else if (want === '~half') assert.ok(spans.length > NONE_REQUESTS * 0.25 && spans.length < NONE_REQUESTS * 0.75, `${spans.length} of ${NONE_REQUESTS}`);
            else {
              // The caller's trace id is kept, whoever decided.
              assert.deepEqual(spans.map((s) => s.spanContext().traceId).sort(), [...want].sort());
              for (const span of spans) assert.equal(span.parentSpanContext?.spanId, '00000000000000aa');
            }
          });
        }
      }
    }
  }

  it('honours always_on / always_off from the environment, and the default parentbased_always_on', async () => {
    assert.equal((await recorded({ env: { OTEL_TRACES_SAMPLER: 'always_on' } }, '-00')).length, 4, 'always_on records even a -00 parent');
    assert.equal((await recorded({ env: { OTEL_TRACES_SAMPLER: 'always_off' } }, '-01')).length, 0);
    assert.equal((await recorded({ env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' } }, '-01')).length, 4);
    assert.equal((await recorded({ env: { OTEL_TRACES_SAMPLER: '' } }, '-00')).length, 0);
    assert.equal((await recorded({ env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' } }, '-00')).length, 2);
  });

  it('validates sampler and incomingSampling with TypeErrors naming the option', () => {
    const base = { serviceName: 's', runtimeMetrics: false, traceExporter: new InMemorySpanExporter() };
    assert.throws(() => setupTelemetry({ ...base, sampler: {} as never }), { name: 'TypeError', message: /`sampler` to be a Sampler/ });
    assert.throws(() => setupTelemetry({ ...base, incomingSampling: 'drop' as never }), { name: 'TypeError', message: /`incomingSampling` to be `'respect'` or `'ignore'`, got `"drop"`/ });
    assert.throws(() => setupTelemetry({ serviceName: 's', runtimeMetrics: false, incomingSampling: 'ignore' }), { name: 'TypeError', message: /`traceExporter` with `incomingSampling`/ });
  });
});
