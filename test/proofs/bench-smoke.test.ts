import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchStats, startBenchServer, stopBenchServer } from '../helpers/bench-server.js';

// Keeps `npm run bench` from rotting: every variant's server starts in its own
// process exactly as the bench starts it, and answers. No load here.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Variant {
  name: string;
  /** The handler echoes a request or trace id read from the library's context. */
  correlates: boolean;
  /** Spans reach the counting exporter. */
  spans: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'node-http', correlates: false, spans: false },
  { name: 'express', correlates: false, spans: false },
  { name: 'throughline-context', correlates: true, spans: false },
  { name: 'throughline-spans', correlates: true, spans: true },
  { name: 'throughline-metrics', correlates: true, spans: true },
  { name: 'otel-auto', correlates: true, spans: true },
  { name: 'cls-rtracer', correlates: true, spans: false },
  { name: 'express-http-context', correlates: true, spans: false },
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

  for (const variant of VARIANTS) {
    it(`${variant.name}: its server answers GET /users/:id with 200 from its own process`, async function () {
      const { child, base } = await startBenchServer(variant.name);
      try {
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
        const s = await benchStats(child);
        assert.ok(s.rss > 0 && s.cpuUs > 0);
        // One SERVER span per request; auto-instrumentation adds Express layer spans.
        if (variant.spans && variant.name.startsWith('throughline')) assert.equal(s.spans, 3);
        else if (variant.spans) assert.ok(s.spans! > 3, `${s.spans} spans exported`);
        else assert.equal(s.spans, undefined);
        if (variant.name === 'throughline-metrics') {
          const metrics = await (await fetch(`${base}/metrics`)).text();
          assert.match(metrics, /http_server_request_duration_count\{[^}]*http_route="\/users\/:id"[^}]*\} 3/);
        }
      } finally {
        await stopBenchServer(child);
      }
    });
  }
});
