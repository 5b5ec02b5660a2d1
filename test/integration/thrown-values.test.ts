// Issue 12: JavaScript can throw any value, and some cannot be turned into a
// string (String() throws). Every throughline site that records or logs an
// error must survive each of them and pass the original value on unchanged.
import { SpanStatusCode } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gracefulShutdown, runDetached, runWithContext, tracedFetch } from '../../src/index.js';
import { describeValue, exceptionOf, errorTypeOf, UNREADABLE } from '../../src/internal/describe.js';
import { traceContext } from '../../middleware/index.js';
import { resetState } from '../../src/testing.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { useTracing } from '../helpers/otel.js';

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

class GetterThrows extends Error {
  override get message(): string {
    throw new Error('message getter');
  }
  override get name(): string {
    throw new Error('name getter');
  }
}

const cyclic: Record<string, unknown> = { id: 1 };
cyclic['self'] = cyclic;

/** Each awkward value, built fresh per use, with what describeValue() must say. */
const VALUES: readonly { readonly name: string; readonly make: () => unknown; readonly described: string | RegExp }[] = [
  { name: 'null', make: () => null, described: 'null' },
  { name: 'undefined', make: () => undefined, described: 'undefined' },
  { name: 'a Symbol', make: () => Symbol('thrown'), described: 'Symbol(thrown)' },
  { name: 'a null-prototype object', make: () => Object.create(null) as object, described: '{}' },
  { name: 'an object whose toString throws', make: () => ({ toString: () => { throw new Error('no toString'); } }), described: '{}' },
  { name: 'an Error whose message and name getters throw', make: () => new GetterThrows(), described: 'Error' },
  { name: 'a revoked Proxy', make: revokedProxy, described: UNREADABLE },
  { name: 'a cyclic object', make: () => cyclic, described: '[object Object]' },
  { name: 'a BigInt', make: () => 10n, described: '10' },
];

/** The values a route can pass to next(): Express treats null and undefined as "no error". */
const ERROR_VALUES = VALUES.filter((v) => v.make() !== null && v.make() !== undefined);

describe('describeValue() / exceptionOf()', () => {
  for (const value of VALUES) {
    it(`describes ${value.name} without throwing`, () => {
      const described = describeValue(value.make());
      if (typeof value.described === 'string') assert.equal(described, value.described);
      else assert.match(described, value.described);
      const exception = exceptionOf(value.make());
      assert.equal(typeof exception, 'object');
      assert.equal(typeof errorTypeOf(value.make()), 'string');
    });
  }

  it('keeps an Error as `Name: message` with its stack, and clips huge strings', () => {
    assert.equal(describeValue(new RangeError('out')), 'RangeError: out');
    const e = exceptionOf(new RangeError('out')) as { name: string; message: string; stack?: string };
    assert.equal(e.name, 'RangeError');
    assert.equal(e.message, 'out');
    assert.match(e.stack ?? '', /RangeError: out/);
    assert.equal(describeValue('x'.repeat(10_000)).length, 500);
  });
});

describe('thrown values that cannot be stringified', () => {
  const tracing = useTracing();
  afterEach(() => resetState());

  for (const variant of EXPRESS_VARIANTS) {
    describe(`a route on ${variant.name}`, () => {
      const modes = ['sync throw', 'next(value) from a timer', ...(variant.major === 5 ? ['async throw'] : [])] as const;
      for (const mode of modes) {
        for (const value of VALUES) {
          it(`answers like bare Express and records the exception: ${mode}, ${value.name}`, async () => {
            const seen: unknown[] = [];
            const thrown = value.make();
            const build = (traced: boolean) => {
              const app = variant.express();
              if (traced) app.use(traceContext());
              app.get('/boom', (_req, _res, next): unknown => {
                if (mode === 'sync throw') throw thrown;
                // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the non-Error is the point
                if (mode === 'async throw') return Promise.reject(thrown);
                setTimeout(() => next(thrown), 1);
                return undefined;
              });
              // An error handler that does not read the error: bare Express's own
              // finalhandler crashes on a revoked Proxy or a throwing toString.
              app.use((err: unknown, _req: unknown, res: { status(c: number): { end(): void } }, _next: unknown) => {
                seen.push(err);
                res.status(500).end();
              });
              return app;
            };
            const bare = await statusOf(build(false));
            const traced = await statusOf(build(true));
            assert.equal(traced, bare);
            // Express 5 turns a promise rejected with null or undefined into an Error of its own.
            const isError = ERROR_VALUES.includes(value);
            assert.equal(bare, isError || mode === 'async throw' ? 500 : 404);
            const [span] = tracing.spans();
            assert.ok(span);
            if (bare === 500) {
              const events = span.events.filter((e) => e.name === 'exception');
              assert.equal(events.length, 1);
              assert.equal(span.status.code, SpanStatusCode.ERROR);
              // The error handler got the very value thrown, both times.
              assert.equal(seen.length, 2);
              if (isError) assert.ok(Object.is(seen[0], thrown) && Object.is(seen[1], thrown));
            }
          });
        }
      }

      it('answers 500 through Express\'s own final handler for a null-prototype object passed to next() from a timer', async () => {
        const build = (traced: boolean) => {
          const app = variant.express();
          // Express 4's final handler logs the error with err.toString() unless env is 'test', and
          // that throws for a null-prototype object: a crash of bare Express 4 itself, not ours.
          app.set('env', 'test');
          if (traced) app.use(traceContext());
          app.get('/boom', (_req, _res, next) => void setTimeout(() => next(Object.create(null)), 1));
          return app;
        };
        assert.equal(await statusOf(build(false)), 500);
        assert.equal(await statusOf(build(true)), 500);
      });
    });
  }

  describe('runDetached()', () => {
    for (const value of VALUES) {
      it(`resolves done with the same value when the job rejects with ${value.name}`, async () => {
        const thrown = value.make();
        const onError: unknown[] = [];
        const handle = runDetached(() => Promise.reject(thrown as Error), { name: 'rejects', onError: (e) => onError.push(e) });
        const result = await handle.done;
        assert.equal(result.ok, false);
        assert.ok(!result.ok && Object.is(result.error, thrown));
        assert.ok(Object.is(onError[0], thrown));
        const [span] = tracing.spansNamed('rejects');
        assert.equal(span?.status.code, SpanStatusCode.ERROR);
        assert.equal(span?.events[0]?.name, 'exception');
      });
    }
  });

  describe('runWithContext()', () => {
    for (const value of VALUES) {
      it(`rethrows ${value.name} unchanged, sync and async`, async () => {
        const thrown = value.make();
        let caught: unknown = 'nothing';
        try {
          runWithContext({}, () => {
            throw thrown as Error;
          });
        } catch (error) {
          caught = error;
        }
        assert.ok(Object.is(caught, thrown));
        // Kept in a variable: returning a revoked Proxy from a then() handler would make the promise read its `then`.
        let rejected: unknown = 'resolved';
        await runWithContext({}, () => Promise.reject(thrown as Error)).catch((error: unknown) => void (rejected = error));
        assert.ok(Object.is(rejected, thrown));
        const spans = tracing.spans();
        assert.equal(spans.length, 2);
        for (const span of spans) assert.equal(span.status.code, SpanStatusCode.ERROR);
      });
    }
  });

  describe('tracedFetch()', () => {
    const realFetch = globalThis.fetch;
    afterEach(() => {
      globalThis.fetch = realFetch;
    });
    for (const value of VALUES) {
      it(`rethrows ${value.name} from fetch unchanged`, async () => {
        const thrown = value.make();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the non-Error is the point
        globalThis.fetch = () => Promise.reject(thrown);
        let rejected: unknown = 'resolved';
        await tracedFetch('http://127.0.0.1:9/x').catch((error: unknown) => void (rejected = error));
        assert.ok(Object.is(rejected, thrown));
        const [span] = tracing.spans();
        assert.equal(span?.status.code, SpanStatusCode.ERROR);
        assert.equal(span?.events[0]?.name, 'exception');
      });
    }
  });

  describe('a beforeExit hook', () => {
    for (const value of VALUES) {
      it(`failing with ${value.name}: terminate() resolves, later hooks run, telemetry is flushed, exit code 1`, async () => {
        const server = await listening();
        const ran: string[] = [];
        const flushed: string[] = [];
        const shutdown = gracefulShutdown(server, {
          signals: [],
          drainDelayMs: 0,
          closeTimeoutMs: 1_000,
          jobsTimeoutMs: 100,
          hookTimeoutMs: 500,
          flushTimeoutMs: 500,
          logger: { info: () => {}, warn: () => {}, error: () => {} },
          beforeExit: [
            function broken() {
              throw value.make() as Error;
            },
            function later() {
              ran.push('later');
            },
          ],
          telemetry: { forceFlush: () => Promise.resolve(void flushed.push('flush')), shutdown: () => Promise.resolve(void flushed.push('shutdown')) },
        });
        const report = await shutdown.terminate('test');
        assert.deepEqual(ran, ['later']);
        assert.deepEqual(flushed, ['flush', 'shutdown']);
        assert.deepEqual(report.hooksFailed, ['broken']);
        assert.equal(report.flush, 'ok');
        assert.equal(report.exitCode, 1);
      });
    }
  });
});

async function listening(): Promise<Server> {
  const server = createServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function statusOf(app: (req: never, res: never) => void): Promise<number> {
  const server = createServer(app as never);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/boom`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
