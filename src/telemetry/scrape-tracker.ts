// Scrape-aware shutdown: Prometheus pulls, so the counts of a pod's last
// requests reach it only if a scrape starts after they were recorded. With a
// 10 s scrape interval, measured behind HAProxy (issue 13), 914 of 9,000
// requests (10 %) never reached Prometheus: each old pod's last scrape came
// before its last requests and the pod exited before the next one. The
// tracker counts the scrapes served and lets the flushing phase wait for one
// that started after a mark (the moment the last request was recorded).
import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { diag, type MeterProvider, type ObservableResult } from '@opentelemetry/api';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';
import type { MetricsHandler } from './metrics-endpoint.js';

/**
 * How the wait for the final scrape ended: `seen` (a scrape that started after
 * the last request was recorded was served), `timeout`, `unavailable` (no
 * endpoint could stay open for it: a node:cluster worker scraped through the
 * shared app port, or that port could not be listened on again), or `skipped`
 * (no telemetry, a timeout of 0, or the process was never scraped, so nobody
 * is waiting for a scrape).
 *
 * @example
 * const { terminate } = gracefulShutdown(http.createServer());
 * const result: FinalScrapeResult = (await terminate()).finalScrape; // 'skipped': no telemetry
 */
export type FinalScrapeResult = 'seen' | 'timeout' | 'unavailable' | 'skipped';

/**
 * Name of the gauge that says, in the final scrape itself, that it was the one
 * shutdown waited for: `throughline_shutdown_final_scrape{throughline_final_scrape_result="seen"} 1`.
 * It has no point before the wait starts; while waiting its result is `waiting`.
 *
 * @example
 * // PromQL: max_over_time(throughline_shutdown_final_scrape{throughline_final_scrape_result="seen"}[5m])
 * FINAL_SCRAPE_METRIC; // 'throughline.shutdown.final_scrape'
 */
export const FINAL_SCRAPE_METRIC = 'throughline.shutdown.final_scrape';
/**
 * Attribute of {@link FINAL_SCRAPE_METRIC}: `waiting`, `seen` or `timeout`.
 *
 * @example
 * // Prometheus label: throughline_final_scrape_result="seen"
 */
export const ATTR_FINAL_SCRAPE_RESULT = 'throughline.final_scrape.result';

/** Where the scrapes came from: the `prometheus: { port }` server, or an app route on this local port. */
type ScrapeRoute = { readonly kind: 'metrics-server' } | { readonly kind: 'app'; readonly port: number; readonly address: string };

interface Waiter {
  readonly mark: number;
  readonly resolve: () => void;
}

/** Scrape bookkeeping of one setupTelemetry() handle (src/telemetry/setup-telemetry.ts). */
export interface ScrapeTracker {
  /** The metrics handler, counting each scrape. */
  readonly handler: MetricsHandler;
  /** Scrapes started so far. */
  started(): number;
  /** Scrapes served (response finished) so far. */
  served(): number;
  /** Resolves when the first scrape has been served (readiness may wait for it). */
  firstScrape(): Promise<void>;
  /** Waits for a scrape that starts after now, keeping an endpoint open for it. */
  awaitFinalScrape(timeoutMs: number, metricsServer: Server | undefined): Promise<FinalScrapeResult>;
  /** Removes the gauge and closes a metrics-only listener still open. */
  dispose(): Promise<void>;
}

/**
 * Wraps `inner` so every scrape is counted and timed.
 *
 * @example
 * const tracker = createScrapeTracker(createMetricsHandler(reader), meterProvider);
 * app.get('/metrics', tracker.handler);
 */
export function createScrapeTracker(inner: MetricsHandler, meterProvider: MeterProvider, metricsServer?: () => Server | undefined): ScrapeTracker {
  let count = 0;
  let servedCount = 0;
  let route: ScrapeRoute | undefined;
  let result: 'waiting' | 'seen' | 'timeout' | undefined;
  let listener: Server | undefined;
  const waiters = new Set<Waiter>();
  let resolveFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => (resolveFirst = resolve));

  const handler: MetricsHandler = function metricsHandler(req: IncomingMessage, res: ServerResponse) {
    const startedAt = performance.now();
    count += 1;
    const server = (req.socket as { server?: unknown }).server;
    route =
      server !== undefined && server === metricsServer?.()
        ? { kind: 'metrics-server' }
        : { kind: 'app', port: req.socket.localPort ?? 0, address: req.socket.localAddress ?? '' };
    const answers = [...waiters].filter((w) => w.mark < startedAt);
    // Said before collecting, so the final scrape carries its own `seen`.
    if (answers.length > 0) result = 'seen';
    res.once('finish', () => {
      servedCount += 1;
      resolveFirst();
      for (const w of answers) w.resolve();
    });
    inner(req, res);
  };

  const meter = meterProvider.getMeter(TRACER_NAME, TRACER_VERSION);
  const gauge = meter.createObservableGauge(FINAL_SCRAPE_METRIC, {
    description: 'Set once shutdown waits for its final scrape: 1 with the result (waiting, seen, timeout).',
  });
  const observe = (observer: ObservableResult) => {
    if (result !== undefined) observer.observe(1, { [ATTR_FINAL_SCRAPE_RESULT]: result });
  };
  gauge.addCallback(observe);

  async function keepEndpoint(server: Server | undefined): Promise<'open' | 'unavailable'> {
    if (route?.kind === 'metrics-server') return server?.listening ? 'open' : 'unavailable';
    if (route === undefined) return 'unavailable';
    // Under node:cluster the port is shared: a listener here would take app
    // requests from the primary's round robin and answer them 503.
    if (cluster.isWorker) return 'unavailable';
    // The app server stopped accepting in `closing`; a metrics-only listener
    // on its port answers the last scrape, and anything else with 503.
    const { port, address } = route;
    const only = createServer((req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) return handler(req, res);
      res.writeHead(503, { connection: 'close', 'content-type': 'text/plain' }).end('Shutting down: only /metrics is served\n');
    });
    return new Promise((resolve) => {
      only.once('error', (error) => {
        diag.warn(`throughline: could not listen on ${address}:${port} again for the final scrape`, error);
        resolve('unavailable');
      });
      only.listen(port, address, () => {
        listener = only;
        resolve('open');
      });
    });
  }

  return {
    handler,
    started: () => count,
    served: () => servedCount,
    firstScrape: () => first,
    async awaitFinalScrape(timeoutMs, server) {
      if (timeoutMs <= 0 || count === 0) return 'skipped';
      const mark = performance.now();
      if ((await keepEndpoint(server)) === 'unavailable') return 'unavailable';
      result = 'waiting';
      let timer: NodeJS.Timeout | undefined;
      const outcome = await new Promise<'seen' | 'timeout'>((resolve) => {
        const waiter: Waiter = { mark, resolve: () => resolve('seen') };
        waiters.add(waiter);
        timer = setTimeout(() => {
          waiters.delete(waiter);
          resolve('timeout');
        }, timeoutMs);
      });
      clearTimeout(timer);
      waiters.clear();
      result = outcome;
      return outcome;
    },
    async dispose() {
      gauge.removeCallback(observe);
      const open = listener;
      listener = undefined;
      if (open?.listening) {
        await new Promise<void>((resolve) => {
          open.close(() => resolve());
          open.closeAllConnections();
        });
      }
    },
  };
}
