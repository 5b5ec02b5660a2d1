import assert from 'node:assert/strict';
import express from 'express';
import express4 from 'express4';
import { resetState } from '../../../src/testing.js';
import { processState } from '../../../src/internal/state.js';
import { ATTR_SHUTDOWN_PHASE, LIFECYCLE_METRICS, gracefulShutdown, healthRoutes, runDetached, traceContext } from '../../../src/index.js';
import { installMetrics, useTracing } from '../../helpers/otel.js';
import { listen } from '../../helpers/server.js';

const PATCHED = Symbol.for('throughline.express-layer-patched');

describe('resetState() (throughline/testing)', () => {
  useTracing();
  afterEach(() => resetState());

  for (const [name, factory] of [['Express 5', express], ['Express 4', express4]] as const) {
    it(`undoes the ${name} router layer patch, leaving the Layer methods as Express made them`, async () => {
      const app = factory();
      app.use(traceContext());
      app.get('/x', (_req, res) => void res.send('ok'));
      const layer = ((app as unknown as { _router?: { stack: object[] }; router?: { stack: object[] } })._router ??
        (app as unknown as { router: { stack: object[] } }).router).stack[0]!;
      const proto = Object.getPrototypeOf(layer) as Record<string | symbol, unknown>;
      const methods = ['handle_request', 'handleRequest', 'handle_error', 'handleError'].filter((m) => typeof proto[m] === 'function');
      const originals = methods.map((m) => proto[m]);
      const s = await listen(app);
      try {
        assert.equal((await fetch(`${s.url}/x`)).status, 200);
      } finally {
        await s.close();
      }
      assert.equal(proto[PATCHED], true, 'the first request patched the layers');
      assert.notDeepEqual(methods.map((m) => proto[m]), originals);
      resetState();
      assert.equal(proto[PATCHED], undefined);
      assert.deepEqual(methods.map((m) => proto[m]), originals);
    });
  }

  it('forgets probe paths, aborts running jobs and uninstalls shutdowns', async () => {
    healthRoutes({ prefix: '/k8s' });
    assert.ok(processState().probePaths.has('/k8s/ready'));
    const job = runDetached(({ signal }) => new Promise((resolve) => signal.addEventListener('abort', resolve)), { name: 'forever' });
    const s = await listen(express());
    const before = process.listenerCount('SIGTERM');
    gracefulShutdown(s.server);
    assert.equal(process.listenerCount('SIGTERM'), before + 1);
    resetState();
    assert.equal(process.listenerCount('SIGTERM'), before);
    assert.equal(processState().probePaths.size, 0);
    assert.equal(processState().jobs.running(), 0);
    const result = await job.done;
    assert.equal(result.ok, false);
    // The reset freed the server: a new shutdown may take it.
    await gracefulShutdown(s.server, { signals: [], drainDelayMs: 0 }).terminate();
  });
});

describe('lifecycle metrics on a meter provider registered by someone else (a NodeSDK)', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    resetState();
    for (const s of servers.splice(0)) await s.close();
  });

  for (const [name, create] of [
    [
      'gracefulShutdown()',
      async () => {
        const s = await listen(express());
        servers.push(s);
        return gracefulShutdown(s.server, { signals: [] });
      },
    ],
    ['traceContext()', () => traceContext()],
    ['healthRoutes()', () => healthRoutes()],
  ] as const) {
    it(`${name} puts them on the global meter provider, with a job started before it counted`, async () => {
      const meters = installMetrics();
      const job = runDetached(({ signal }) => new Promise((resolve) => signal.addEventListener('abort', resolve)), { name: 'early' });
      await create();
      const collected = await meters.collect();
      const found = new Map(collected.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m.dataPoints as { value: unknown; attributes: Record<string, unknown> }[]]));
      assert.equal(found.get(LIFECYCLE_METRICS.jobsRunning)?.[0]?.value, 1);
      assert.equal(found.get(LIFECYCLE_METRICS.phase)?.find((p) => p.attributes[ATTR_SHUTDOWN_PHASE] === 'running')?.value, 1);
      resetState();
      await job.done;
      await meters.shutdown();
    });
  }
});
