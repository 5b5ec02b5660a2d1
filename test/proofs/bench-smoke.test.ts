import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertContinuesTrace, startBenchServer } from '../helpers/bench-server.js';

// Keeps `npm run bench` from rotting: every variant's server starts in its own
// process exactly as the bench starts it, and answers. No load here.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Variant {
  name: string;
  /** The Express major the bench passes to its start() (bench/variants/index.mjs); none: it imports its own. */
  express?: 4 | 5;
  /** The handler echoes a request or trace id read from the library's context. */
  correlates: boolean;
  /** Spans reach the counting exporter. */
  spans: boolean;
  /** The handler's id is the trace id: an incoming traceparent's must reach it. */
  continues?: true;
}

const VARIANTS: Variant[] = [
  { name: 'node-http', correlates: false, spans: false },
  { name: 'express', express: 5, correlates: false, spans: false },
  { name: 'throughline-context', express: 5, correlates: true, spans: false, continues: true },
  { name: 'throughline-spans', correlates: true, spans: true, continues: true },
  { name: 'throughline-metrics', express: 5, correlates: true, spans: true, continues: true },
  { name: 'otel-auto', correlates: true, spans: true, continues: true },
  { name: 'cls-rtracer', correlates: true, spans: false },
  { name: 'express-http-context', correlates: true, spans: false },
];
// The same modules on Express 4 (bench/variants/index.mjs); the floors' own test covers theirs.
const EXPRESS_4: Variant[] = [
  { name: 'express4', express: 4, correlates: false, spans: false },
  { name: 'throughline-context-e4', express: 4, correlates: true, spans: false, continues: true },
  { name: 'throughline-metrics-e4', express: 4, correlates: true, spans: true, continues: true },
];
// The opt-in variants that import throughline's subpaths instead of its root (bench/variants/index.mjs).
const SUBPATHS: Variant[] = [
  { name: 'throughline-metrics-subpaths', express: 5, correlates: true, spans: true, continues: true },
  { name: 'throughline-metrics-e4-subpaths', express: 4, correlates: true, spans: true, continues: true },
];

describe('bench variants (npm run bench)', function () {
  before(function () {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'src', 'index.js')), 'bench variants import the built package: run `npm run build` first');
  });

  it('covers every module in bench/variants/', function () {
    const modules = readdirSync(path.join(ROOT, 'bench', 'variants'))
      .filter((f) => f.endsWith('.mjs') && f !== 'index.mjs' && f !== 'shared.mjs')
      .map((f) => f.replace(/\.mjs$/, ''))
      .sort();
    assert.deepEqual(modules, VARIANTS.map((v) => v.name).sort());
  });

  it('starts every variant of bench/variants/index.mjs here or in the floors test', async function () {
    const { VARIANTS: all } = (await import(path.join(ROOT, 'bench', 'variants', 'index.mjs'))) as { VARIANTS: { name: string }[] };
    const tested = [...VARIANTS, ...EXPRESS_4, ...SUBPATHS].map((v) => v.name);
    assert.deepEqual(
      all.map((v) => v.name).filter((n) => !n.startsWith('floor-')),
      tested,
    );
  });

  it('throughline-metrics refuses an unknown entry with a TypeError that names `entry`', async function () {
    const variant = (await import(path.join(ROOT, 'bench', 'variants', 'throughline-metrics.mjs'))) as { start(o: { entry: string }): Promise<unknown> };
    await assert.rejects(variant.start({ entry: 'index' }), { name: 'TypeError', message: 'Expected `entry` to be one of root, subpaths, got index' });
  });

  for (const variant of [...VARIANTS, ...EXPRESS_4, ...SUBPATHS]) {
    it(`${variant.name}: its server answers GET /users/:id with 200 from its own process`, async function () {
      const server = await startBenchServer(variant.name);
      const { base, expressVersion } = server;
      try {
        if (variant.express === undefined) assert.equal(expressVersion, undefined);
        else assert.match(expressVersion ?? '', new RegExp(`^${variant.express}\\.`));
        const ids = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${base}/users/${i}`);
          assert.equal(res.status, 200);
          const body = (await res.json()) as { id: string; name: string; requestId?: string };
          assert.equal(body.id, String(i));
          assert.equal(body.name, `user-${i}`);
          if (variant.correlates) {
            assert.match(body.requestId ?? '', /^[0-9a-f-]{32,36}$/);
            ids.add(body.requestId!);
          } else {
            assert.equal(body.requestId, undefined);
          }
        }
        // Each request ran in a context of its own.
        if (variant.correlates) assert.equal(ids.size, 3);
        // The incoming trace reaches the handler; a malformed traceparent starts a new one.
        if (variant.continues) await assertContinuesTrace(base);
        const requests = variant.continues ? 5 : 3;
        const s = await server.stats();
        assert.ok(s.rss > 0 && s.cpuUs > 0);
        // One SERVER span per request; auto-instrumentation adds Express layer spans.
        if (variant.spans && variant.name.startsWith('throughline')) assert.equal(s.spans, requests);
        else if (variant.spans) assert.ok(s.spans! > requests, `${s.spans} spans exported`);
        else assert.equal(s.spans, undefined);
        if (variant.name.startsWith('throughline-metrics')) {
          const metrics = await (await fetch(`${base}/metrics`)).text();
          assert.match(metrics, new RegExp(String.raw`http_server_request_duration_count\{[^}]*http_route="\/users\/:id"[^}]*\} ${requests}`));
        }
      } finally {
        await server.stop();
      }
    });
  }
});
