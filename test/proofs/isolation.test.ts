// THE ISOLATION PROOF. A real Express app on a real socket takes 10,000
// requests at concurrency 200, each with its own incoming trace id. Every
// request crosses the async boundaries where traces usually break and records
// the active trace id inside each one. A "leak" is a boundary that saw another
// request's trace; a "loss" is one that saw no trace (or never ran). Both must
// be zero. The negative control at the end shows that the shared pool and the
// shared emitter DO leak without bindDetached()/bindEmitter(), so this test can fail.
import { SpanKind } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { Readable, Transform, Writable, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  bindDetached,
  bindEmitter,
  childEnv,
  injectContext,
  runDetached,
  traceContext,
  tryGetTraceContext,
  type Carrier,
} from '../../src/index.js';
import { EXPRESS_VARIANTS, type ExpressFactory } from '../helpers/express.js';
import { installTracing, resetPropagation, type TestTracing } from '../helpers/otel.js';
import { listen } from '../helpers/server.js';
import { tsWorker, withoutCoverage } from '../helpers/subprocess.js';

const REQUESTS = 10_000;
const CONCURRENCY = 200;
const CHILD_EVERY = 500;
const WORKERS = 2;

/** Boundaries every request crosses; child-process ones only for every CHILD_EVERY-th request. */
const BOUNDARIES = [
  'express.json',
  'setTimeout',
  'setImmediate',
  'process.nextTick',
  'queueMicrotask',
  'promise.then',
  'promise.then.chained',
  'async-iterator.generator',
  'async-iterator.loop',
  'stream.transform',
  'stream.write',
  'stream.pipeline-callback',
  'emitter (bindEmitter)',
  'pool callback (bindDetached)',
  'runDetached job',
  'worker thread (carrier)',
  'worker reply callback (bindDetached)',
  'after all boundaries',
] as const;
const CHILD_BOUNDARIES = ['child process (childEnv)', 'child exit callback'] as const;

type Observations = Record<string, string | undefined>;
type Callback<T> = (value: T) => void;

/**
 * A callback-style resource pool, as many drivers have: when no resource is
 * free the callback waits, and release() hands the resource to the next
 * waiter synchronously, i.e. inside the releasing request's context.
 */
function createPool(size: number) {
  const free = Array.from({ length: size }, (_, i) => i);
  const waiting: Callback<number>[] = [];
  return {
    acquire(cb: Callback<number>) {
      const resource = free.pop();
      if (resource === undefined) waiting.push(cb);
      else setImmediate(cb, resource);
    },
    release(resource: number) {
      const next = waiting.shift();
      if (next) next(resource);
      else free.push(resource);
    },
  };
}

/**
 * Correlates replies over one shared emitter created at startup: a request
 * waits for `reply:<n>`; replies are emitted in batches, by whichever request
 * (or timer) flushes the batch.
 */
function createBatcher(bus: EventEmitter, size: number) {
  let batch: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const ready = batch;
    batch = [];
    for (const n of ready) bus.emit(`reply:${n}`);
  };
  return (n: number) => {
    batch.push(n);
    if (batch.length >= size) flush();
    else timer ??= setTimeout(flush, 1);
  };
}

/** A fixed pool of worker threads, reused by every request through messages carrying the context. */
function createWorkerPool(count: number) {
  const fixture = new URL('../fixtures/carrier-worker.ts', import.meta.url);
  const pending = new Map<number, Callback<string | undefined>>();
  let nextId = 0;
  let messages = 0;
  const workers = Array.from({ length: count }, () => {
    const worker = tsWorker(fixture);
    worker.on('message', (m: { type: string; id: number; traceId?: string }) => {
      if (m.type !== 'result') return;
      messages++;
      const cb = pending.get(m.id);
      pending.delete(m.id);
      cb?.(m.traceId);
    });
    return worker;
  });
  const ready = Promise.all(workers.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve()))));
  return {
    ready,
    messages: () => messages,
    run(carrier: Carrier, cb: Callback<string | undefined>) {
      const id = nextId++;
      pending.set(id, cb);
      workers[id % count]!.postMessage({ id, carrier });
    },
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

function buildApp(workers: ReturnType<typeof createWorkerPool>, express: ExpressFactory = EXPRESS_VARIANTS[0].express) {
  const pool = createPool(16);
  const bus = bindEmitter(new EventEmitter());
  const rawBus = new EventEmitter();
  bus.setMaxListeners(0);
  rawBus.setMaxListeners(0);
  const push = createBatcher(bus, 8);
  const rawPush = createBatcher(rawBus, 8);
  const childFixture = fileURLToPath(new URL('../fixtures/env-child.ts', import.meta.url));
  const stats = { childProcesses: 0 };

  const app = express();
  app.use(traceContext());
  app.use(express.json());
  app.post('/work', async (req, res) => {
    const { n, bound } = req.body as { n: number; bound: boolean };
    const obs: Observations = {};
    const check = (boundary: string) => {
      obs[boundary] = tryGetTraceContext()?.traceId;
    };
    check('express.json');
    try {
      await new Promise<void>((r) => setTimeout(() => (check('setTimeout'), r()), n % 3));
      await new Promise<void>((r) => setImmediate(() => (check('setImmediate'), r())));
      await new Promise<void>((r) => process.nextTick(() => (check('process.nextTick'), r())));
      await new Promise<void>((r) => queueMicrotask(() => (check('queueMicrotask'), r())));
      await Promise.resolve()
        .then(() => check('promise.then'))
        .then(() => new Promise((r) => setImmediate(r)))
        .then(() => check('promise.then.chained'));

      async function* ticks() {
        for (let i = 0; i < 2; i++) {
          await new Promise((r) => setImmediate(r));
          yield tryGetTraceContext()?.traceId;
        }
      }
      for await (const seenInGenerator of ticks()) {
        obs['async-iterator.generator'] = seenInGenerator;
        check('async-iterator.loop');
      }

      await new Promise<void>((resolve, reject) =>
        pipeline(
          Readable.from(['a', 'b', 'c']),
          new Transform({
            transform(chunk, _encoding, cb) {
              check('stream.transform');
              setImmediate(cb, null, chunk);
            },
          }),
          new Writable({
            write(_chunk, _encoding, cb) {
              check('stream.write');
              cb();
            },
          }),
          (error) => {
            check('stream.pipeline-callback');
            if (error) reject(error);
            else resolve();
          },
        ),
      );

      // A shared emitter created at startup; the reply is emitted by whoever flushes the batch.
      await new Promise<void>((r) => {
        (bound ? bus : rawBus).once(`reply:${n}`, () => (check('emitter (bindEmitter)'), r()));
        (bound ? push : rawPush)(n);
      });

      // A callback pool: the waiter's callback runs inside the releasing request.
      await new Promise<void>((r) => {
        const onResource = (resource: number) => {
          check('pool callback (bindDetached)');
          setImmediate(() => {
            pool.release(resource);
            r();
          });
        };
        pool.acquire(bound ? bindDetached(onResource) : onResource);
      });

      const job = runDetached(() => tryGetTraceContext()?.traceId, { name: 'isolation-job' });
      const outcome = await job.done;
      obs['runDetached job'] = outcome.ok ? outcome.value : undefined;

      await new Promise<void>((r) =>
        workers.run(
          injectContext(),
          bindDetached((traceId) => {
            obs['worker thread (carrier)'] = traceId;
            check('worker reply callback (bindDetached)');
            r();
          }),
        ),
      );

      if (n % CHILD_EVERY === 0) {
        stats.childProcesses++;
        await new Promise<void>((resolve, reject) =>
          execFile(process.execPath, ['--import', 'tsx', childFixture], { env: withoutCoverage(childEnv()) }, (error, stdout) => {
            check('child exit callback');
            if (error) return reject(new Error('child process failed', { cause: error }));
            obs['child process (childEnv)'] = (JSON.parse(stdout) as { traceId?: string }).traceId;
            resolve();
          }),
        );
      }
      check('after all boundaries');
      res.json({ obs });
    } catch (error) {
      res.status(500).json({ obs, error: String(error) });
    }
  });
  return { app, stats };
}

interface LoadResult {
  readonly leaks: Map<string, number>;
  readonly losses: Map<string, number>;
  readonly observations: number;
  readonly failed: number;
  readonly traceIds: Set<string>;
  readonly durationMs: number;
}

async function load(url: string, requests: number, bound: boolean): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const leaks = new Map<string, number>();
  const losses = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const traceIds = new Set<string>();
  let observations = 0;
  let failed = 0;
  const one = (n: number) =>
    new Promise<void>((resolve) => {
      const traceId = randomBytes(16).toString('hex');
      traceIds.add(traceId);
      const body = JSON.stringify({ n, bound });
      const req = httpRequest(
        `${url}/work`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            if (res.statusCode !== 200) failed++;
            const { obs } = JSON.parse(text) as { obs: Observations };
            const expected = n % CHILD_EVERY === 0 ? [...BOUNDARIES, ...CHILD_BOUNDARIES] : BOUNDARIES;
            for (const boundary of expected) {
              observations++;
              const seen = obs[boundary];
              if (seen === undefined) bump(losses, boundary);
              else if (seen !== traceId) bump(leaks, boundary);
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) await one(next++);
    }),
  );
  const durationMs = performance.now() - started;
  agent.destroy();
  return { leaks, losses, observations, failed, traceIds, durationMs };
}

const total = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);

describe('the isolation proof', () => {
  let tracing: TestTracing;
  let workers: ReturnType<typeof createWorkerPool>;
  before(async () => {
    resetPropagation();
    tracing = installTracing();
    workers = createWorkerPool(WORKERS);
    await workers.ready;
  });
  after(async () => {
    await workers.close();
    await tracing.shutdown();
  });

  for (const { name, express } of EXPRESS_VARIANTS) {
    it(`${name}: keeps ${REQUESTS.toLocaleString('en')} requests at concurrency ${CONCURRENCY} on their own trace across every boundary: 0 leaks, 0 losses`, async function () {
      this.timeout(180_000);
      tracing.reset();
      const { app, stats } = buildApp(workers, express);
      const server = await listen(app);
      const messagesBefore = workers.messages();
      let result: LoadResult;
      try {
        result = await load(server.url, REQUESTS, true);
      } finally {
        await server.close();
      }
      const spans = tracing.spans();
      const serverSpans = spans.filter((s) => s.kind === SpanKind.SERVER);
      const jobSpans = spans.filter((s) => s.name === 'isolation-job');
      const serverTraceIds = new Set(serverSpans.map((s) => s.spanContext().traceId));
      const jobOnOwnTrace = jobSpans.filter((s) => serverTraceIds.has(s.spanContext().traceId)).length;
      const lines = [
        `isolation proof (${name}): ${REQUESTS} requests, concurrency ${CONCURRENCY}, ${(result.durationMs / 1000).toFixed(1)} s`,
        `  boundaries per request: ${BOUNDARIES.length} (+${CHILD_BOUNDARIES.length} for the ${stats.childProcesses} child-process samples)`,
        `  observations: ${result.observations}, leaks: ${total(result.leaks)}, losses: ${total(result.losses)}, failed requests: ${result.failed}`,
        `  worker-thread messages: ${workers.messages() - messagesBefore} over ${WORKERS} reused workers; child processes: ${stats.childProcesses}`,
        `  spans: ${serverSpans.length} SERVER (${serverTraceIds.size} distinct traces), ${jobSpans.length} runDetached`,
      ];
      if (result.leaks.size > 0) lines.push(`  leaks by boundary: ${JSON.stringify(Object.fromEntries(result.leaks))}`);
      if (result.losses.size > 0) lines.push(`  losses by boundary: ${JSON.stringify(Object.fromEntries(result.losses))}`);
      console.log(lines.join('\n'));

      assert.equal(result.failed, 0, 'every request answered 200');
      assert.equal(total(result.leaks), 0, 'no boundary saw another request’s trace');
      assert.equal(total(result.losses), 0, 'no boundary lost the trace');
      const expectedObservations = REQUESTS * BOUNDARIES.length + (REQUESTS / CHILD_EVERY) * CHILD_BOUNDARIES.length;
      assert.equal(result.observations, expectedObservations);
      assert.equal(stats.childProcesses, REQUESTS / CHILD_EVERY);
      assert.equal(workers.messages() - messagesBefore, REQUESTS);
      assert.equal(serverSpans.length, REQUESTS);
      assert.deepEqual(serverTraceIds, result.traceIds, 'each request continued its own incoming trace');
      assert.equal(jobSpans.length, REQUESTS);
      assert.equal(jobOnOwnTrace, REQUESTS);
    });
  }

  it('negative control: without bindDetached() and bindEmitter() the pool and the emitter leak', async function () {
    this.timeout(60_000);
    const { app } = buildApp(workers);
    const server = await listen(app);
    let result: LoadResult;
    try {
      result = await load(server.url, 1_000, false);
    } finally {
      await server.close();
    }
    const leaks = Object.fromEntries(result.leaks);
    console.log(`negative control: 1000 requests without the helpers; leaks by boundary: ${JSON.stringify(leaks)}`);
    assert.equal(result.failed, 0);
    assert.ok((leaks['pool callback (bindDetached)'] ?? 0) > 0, 'the pool callback ran in another request’s trace');
    assert.ok((leaks['emitter (bindEmitter)'] ?? 0) > 0, 'the emitter listener ran in another request’s trace');
    assert.deepEqual(Object.keys(leaks).sort(), ['emitter (bindEmitter)', 'pool callback (bindDetached)'], 'only the two unbound boundaries leak');
    assert.equal(total(result.losses), 0);
  });
});
