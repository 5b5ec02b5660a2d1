// Issue 12, item 5: http.route is a template for every kind of mount Express
// 4 and 5 accept, never the concrete path: 2,000 distinct paths through one
// mount make one series (scraped from a real setupTelemetry() metricsHandler)
// and one span name.
import { metrics, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import { setupTelemetry, type Telemetry } from '../../src/index.js';
import { traceContext } from '../../middleware/index.js';
import { resetState } from '../../src/testing.js';
import { EXPRESS_VARIANTS } from '../helpers/express.js';
import { scrapeHandler, select } from '../helpers/exposition.js';
import { listen } from '../helpers/server.js';

const PATHS = 2_000;

interface Mount {
  readonly kind: string;
  readonly mount: (major: 4 | 5) => string | RegExp | (string | RegExp)[];
  readonly path: (i: number) => string;
  /** The series expected: one per route (Express 4 keeps no array of mount paths, so each of its paths is one). */
  readonly route: (major: 4 | 5) => string[];
}

const MOUNTS: readonly Mount[] = [
  { kind: 'a RegExp mount', mount: () => /^\/v\d+/, path: (i) => `/v${i}/items`, route: () => ['^\\/v\\d+/items'] },
  // A wildcard mount takes the rest of the path: its router's '/' route answers.
  { kind: 'a wildcard mount', mount: (m) => (m === 4 ? '/wild/*' : '/wild/*rest'), path: (i) => `/wild/a${i}/b${i}`, route: (m) => [m === 4 ? '/wild/*' : '/wild/*rest'] },
  { kind: 'a mount with a parameter', mount: () => '/users/:userId', path: (i) => `/users/u${i}/items`, route: () => ['/users/:userId/items'] },
  { kind: 'an array of paths', mount: () => ['/a/:x', '/b/:x'], path: (i) => `/${i % 2 ? 'a' : 'b'}/x${i}/items`, route: (m) => (m === 4 ? ['/a/:x/items', '/b/:x/items'] : ['/a/:x,/b/:x/items']) },
];

describe('http.route templates for every kind of mount', () => {
  let telemetry: Telemetry | undefined;
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
    resetState();
    metrics.disable();
    trace.disable();
    propagation.disable();
  });

  for (const variant of EXPRESS_VARIANTS) {
    for (const mount of MOUNTS) {
      it(`${variant.name}, ${mount.kind}: ${PATHS} distinct paths make one series and one span name`, async () => {
        const exporter = new InMemorySpanExporter();
        telemetry = setupTelemetry({ serviceName: 'routes', runtimeMetrics: false, traceExporter: exporter });
        const app = variant.express();
        app.use(traceContext());
        const router = variant.express.Router();
        router.get('/items', (_req, res) => res.end('ok'));
        router.get('/', (_req, res) => res.end('ok'));
        app.use(mount.mount(variant.major) as string, router);
        const server = await listen(app);
        try {
          for (let i = 0; i < PATHS; i++) {
            const res = await fetch(`${server.url}${mount.path(i)}`);
            assert.equal(res.status, 200, mount.path(i));
            await res.arrayBuffer();
          }
        } finally {
          await server.close();
        }
        await telemetry.forceFlush();
        const series = select(await scrapeHandler(telemetry.metricsHandler), 'http_server_request_duration_seconds_count');
        const routes = mount.route(variant.major);
        assert.deepEqual(series.map((s) => s.labels['http_route']).sort(), routes);
        assert.equal(series.reduce((sum, s) => sum + s.value, 0), PATHS);
        const names = new Set(exporter.getFinishedSpans().map((s) => s.name));
        assert.deepEqual([...names].sort(), routes.map((r) => `GET ${r}`));
      });
    }
  }
});
