// throughline beside a real OpenTelemetry NodeSDK with the auto-instrumentations
// (issue 15). Each mix runs examples/with-nodesdk/services.ts in a forked child
// whose NodeSDK starts from an --import'ed file before express loads
// (test/fixtures/nodesdk-register.ts): instrumentations patch modules at load.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { withoutCoverage } from '../helpers/subprocess.js';

const CHILD = new URL('../fixtures/nodesdk-child.ts', import.meta.url);
const REGISTER = new URL('../fixtures/nodesdk-register.ts', import.meta.url);
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN_ID = 'b7ad6b7169203331';
const SERVER = 1;
const CLIENT = 2;

interface SpanRecord {
  name: string;
  kind: number;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
}
interface Collected {
  spans: SpanRecord[];
  traceparents: (string | undefined)[];
  durations: { scope: string; points: number; count: number }[];
}
interface Run {
  body: { traceId: string; spanId: string };
  collected: Collected;
  stderr: string;
}

async function runMix(mix: string, client: 'tracedFetch' | 'fetch'): Promise<Run> {
  const child: ChildProcess = fork(CHILD, [], {
    // `late`: no --import, so the child's own import order starts the SDK after express and node:http loaded.
    execArgv: mix === 'late' ? ['--import', 'tsx'] : ['--import', 'tsx', '--import', REGISTER.href],
    env: withoutCoverage({ ...process.env, NODESDK_MIX: mix, NODESDK_CLIENT: client }),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const next = async <T>(type: string): Promise<T> => {
    for (;;) {
      const [message] = (await once(child, 'message')) as [{ type: string }];
      if (message.type === type) return message as T;
    }
  };
  try {
    const { port } = await next<{ port: number }>('ready');
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/health/live`)).status, 200);
    const res = await fetch(`${base}/orders/7`, {
      method: 'POST',
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` },
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as Run['body'];
    // The detached job ends a few ms after the response: wait for its span.
    let collected: Collected;
    for (let attempt = 0; ; attempt++) {
      child.send({ type: 'collect' });
      collected = await next<Collected>('collected');
      if (collected.spans.some((s) => s.name === 'sendConfirmation') || attempt === 50) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { body, collected, stderr };
  } finally {
    child.kill();
  }
}

function only<T>(items: T[], what: string): T {
  assert.equal(items.length, 1, `exactly one ${what}, got ${items.length}`);
  return items[0]!;
}

/** What every mix must give: one trace, one SERVER span per request, one traceparent per call, one duration record per request. */
function assertOneTrace({ collected }: Run, serverScope = '@opentelemetry/instrumentation-http'): { front: SpanRecord; stock: SpanRecord; call: SpanRecord } {
  const inTrace = collected.spans.filter((s) => s.traceId === TRACE_ID);
  const servers = inTrace.filter((s) => s.kind === SERVER);
  assert.equal(servers.length, 2, `SERVER spans: ${servers.map((s) => `${s.scope} ${s.name}`).join('; ')}`);
  const front = only(servers.filter((s) => s.name === 'POST /orders/:id'), 'front SERVER span');
  const stock = only(servers.filter((s) => s.name === 'GET /stock/:sku'), 'stock SERVER span');
  assert.equal(front.scope, serverScope);
  assert.equal(stock.scope, serverScope);
  assert.equal(front.parentSpanId, CALLER_SPAN_ID);
  assert.equal(front.attributes['http.route'], '/orders/:id');
  assert.equal(front.attributes['http.response.status_code'], 201);
  assert.equal(stock.attributes['http.route'], '/stock/:sku');
  const call = only(inTrace.filter((s) => s.kind === CLIENT), 'CLIENT span');
  assert.equal(stock.parentSpanId, call.spanId);
  assert.deepEqual(collected.traceparents, [`00-${TRACE_ID}-${call.spanId}-01`]);
  const roots = collected.spans.filter((s) => s.parentSpanId === undefined);
  if (serverScope === 'throughline') {
    // throughline ignores probes by default: no span, no duration record.
    assert.deepEqual(roots, []);
    assert.deepEqual(collected.durations.map((d) => [d.scope, d.count]), [['throughline', 2]]);
  } else {
    // The only root is the probe's SERVER span (instrumentation-http traces probes; a request with no traceparent starts a trace).
    assert.deepEqual(roots.map((s) => [s.kind, s.name]), [[SERVER, 'GET']]);
    // One record per request (probe, order, stock), from instrumentation-http only.
    assert.deepEqual(collected.durations.map((d) => [d.scope, d.count]), [['@opentelemetry/instrumentation-http', 3]]);
  }
  return { front, stock, call };
}

describe('throughline beside a NodeSDK with the auto-instrumentations', function () {
  this.timeout(60_000);

  for (const [mix, client, clientScope, serverScope] of [
    ['example', 'tracedFetch', '@opentelemetry/instrumentation-undici', '@opentelemetry/instrumentation-http'],
    ['example', 'fetch', '@opentelemetry/instrumentation-undici', '@opentelemetry/instrumentation-http'],
    ['no-undici', 'tracedFetch', 'throughline', '@opentelemetry/instrumentation-http'],
    // Started after express and node:http loaded, instrumentation-http patches nothing: throughline's own SERVER spans; undici's channel still works.
    ['late', 'tracedFetch', '@opentelemetry/instrumentation-undici', 'throughline'],
  ] as const) {
    it(`${mix} instrumentations, ${client}: one trace, getTraceContext() and the detached job on the SERVER span`, async () => {
      const run = await runMix(mix, client);
      const { front, call } = assertOneTrace(run, serverScope);
      assert.equal(call.scope, clientScope);
      assert.equal(call.parentSpanId, front.spanId);
      assert.deepEqual(run.body, { ...run.body, traceId: TRACE_ID, spanId: front.spanId });
      assert.equal(only(run.collected.spans.filter((s) => s.name === 'sendConfirmation'), 'job span').parentSpanId, front.spanId);
      assert.doesNotMatch(run.stderr, /THROUGHLINE_/);
    });
  }

  it('every auto-instrumentation at its default: one trace, router spans under the SERVER span, getters and jobs on the SERVER span', async () => {
    const run = await runMix('defaults', 'tracedFetch');
    const { front, call } = assertOneTrace(run);
    const handler = only(run.collected.spans.filter((s) => s.name === 'request handler - /orders/:id'), 'router handler span');
    assert.equal(handler.scope, '@opentelemetry/instrumentation-router');
    assert.equal(handler.parentSpanId, front.spanId);
    // instrumentation-router runs the handler inside its own span; getTraceContext() and runDetached() still name the request.
    assert.deepEqual(run.body, { ...run.body, traceId: TRACE_ID, spanId: front.spanId });
    assert.equal(only(run.collected.spans.filter((s) => s.name === 'sendConfirmation'), 'job span').parentSpanId, front.spanId);
    // The outbound call is made inside the handler's span: instrumentation-undici nests it there.
    assert.equal(call.parentSpanId, handler.spanId);
    assert.doesNotMatch(run.stderr, /THROUGHLINE_/);
  });
});
