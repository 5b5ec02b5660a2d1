import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertContinuesTrace, startBenchServer } from '../helpers/bench-server.js';

// The bench's floors (bench/variants/floors/) are what its targets are judged
// against: each must really do the work it stands in for, or a target could
// be "met" against a floor that skips it.

// Every floor bench/variants/index.mjs lists, so a new one is tested the day it is added.
const INDEX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/variants/index.mjs');
const { DEFAULT_VARIANTS, VARIANTS } = (await import(INDEX)) as { DEFAULT_VARIANTS: { name: string }[]; VARIANTS: { name: string }[] };
const FLOORS = VARIANTS.map((v) => v.name).filter((n) => n.startsWith('floor-'));

describe('bench floors (npm run bench)', function () {
  it('finds the floors', function () {
    assert.deepEqual(FLOORS, [
      'floor-context',
      'floor-context-attach',
      'floor-context-dc',
      'floor-spans',
      'floor-spans+close',
      'floor-spans+layers',
      'floor-spans+state',
      'floor-spans+all',
      'floor-context-e4',
      'floor-spans-e4',
    ]);
  });

  it('a run that names no variant starts every floor but the opt-in step variants', function () {
    const floors = DEFAULT_VARIANTS.map((v) => v.name).filter((n) => n.startsWith('floor-'));
    assert.deepEqual(floors, ['floor-context', 'floor-context-attach', 'floor-context-dc', 'floor-spans', 'floor-context-e4', 'floor-spans-e4']);
  });

  it('floor-spans refuses an unknown step with a TypeError that names `steps`', async function () {
    const floor = (await import(path.resolve(path.dirname(INDEX), 'floors/spans.mjs'))) as { start(o: { steps: string[] }): Promise<unknown> };
    await assert.rejects(floor.start({ steps: ['close', 'nope'] }), { name: 'TypeError', message: 'Expected `steps` to be some of close, layers, state, got nope' });
  });

  for (const name of FLOORS) {
    it(`${name}: a trace id per request in the handler, the incoming one when sent, a request id echoed`, async function () {
      const server = await startBenchServer(name);
      const { base, expressVersion } = server;
      try {
        assert.match(expressVersion ?? '', name.endsWith('-e4') ? /^4\./ : /^5\./);
        const ids = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${base}/users/${i}`, { headers: { 'x-request-id': `req-${i}` } });
          assert.equal(res.status, 200);
          assert.equal(res.headers.get('x-request-id'), `req-${i}`);
          const body = (await res.json()) as { id: string; requestId?: string };
          assert.equal(body.id, String(i));
          assert.match(body.requestId ?? '', /^[0-9a-f]{32}$/);
          ids.add(body.requestId!);
        }
        assert.equal(ids.size, 3, 'each request ran in a context of its own');
        const continued = await assertContinuesTrace(base);
        assert.match(continued.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'no incoming request id: a new UUID');

        const s = await server.stats();
        assert.ok((s.allocatedBytes ?? 0) > 0, `allocatedBytes ${s.allocatedBytes}`);
        if (name.startsWith('floor-spans')) {
          assert.equal(s.spans, 5, 'one SERVER span per request');
          const metrics = await (await fetch(`${base}/metrics`)).text();
          assert.match(metrics, /http_server_request_duration(?:_seconds)?_count\{[^}]*http_route="\/users\/:id"[^}]*\} 5/);
        } else {
          assert.equal(s.spans, undefined);
        }
      } finally {
        await server.stop();
      }
    });
  }
});
