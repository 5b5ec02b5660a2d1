import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { diagLogger } from '../lifecycle/logger.js';
import { createPrometheusSerializer } from './prometheus-text.js';

/**
 * A request handler serving the Prometheus text exposition; mount it on any
 * route (Express-compatible, but typed with node:http only).
 *
 * @example
 * const handler: MetricsHandler = telemetry.metricsHandler;
 * app.get('/metrics', handler);
 */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The content type of the Prometheus text format 0.0.4.
 *
 * @example
 * res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE);
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The pull reader behind `/metrics`: a plain SDK `MetricReader` (cumulative,
 * default aggregations, as the Prometheus exporter configures itself) that
 * never opens a port on its own: throughline decides where the exposition is
 * served (an app route, or its own server).
 *
 * @example
 * const reader = createPrometheusReader();
 * new MeterProvider({ readers: [reader] });
 */
export function createPrometheusReader(): MetricReader {
  return new PullMetricReader();
}

// Collection happens on each scrape; there is nothing to flush or stop.
class PullMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * The exposition as a plain node:http handler: collects from `reader` and
 * serializes with throughline's own serializer (src/telemetry/prometheus-text.ts:
 * the Collector's names, in an eighth of the exporter's time). A failed collection
 * answers 500 with the reason, and goes to `diag`.
 *
 * @example
 * app.get('/metrics', createMetricsHandler(reader));
 */
export function createMetricsHandler(reader: MetricReader): MetricsHandler {
  const serialize = createPrometheusSerializer();
  return function metricsHandler(_req, res) {
    reader
      .collect()
      .then(({ resourceMetrics, errors }) => {
        // Partial results (an observable callback threw) are still served.
        if (errors.length > 0) diag.error('throughline: collecting metrics for /metrics reported errors', ...errors);
        const body = serialize(resourceMetrics);
        res.statusCode = 200;
        res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE);
        res.end(body);
      })
      .catch((error: unknown) => {
        diag.error('throughline: serving /metrics failed', error);
        if (res.headersSent) {
          res.end();
          return;
        }
        res.statusCode = 500;
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end(`throughline: collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
      });
  };
}

/**
 * Where the exposition is served when it gets its own port.
 *
 * @example
 * const where: MetricsServerOptions = { port: 9464, host: '0.0.0.0' };
 */
export interface MetricsServerOptions {
  /** Port to listen on; 0 picks a free one (read it from `server.address()`). */
  readonly port: number;
  /** Interface to bind; Node's default (all interfaces) when omitted. */
  readonly host?: string | undefined;
}

/**
 * A metrics server and the outcome of its `listen()`.
 *
 * @example
 * const { server, ready } = startMetricsServer(handler, { port: 9464 });
 * await ready; // rejects with MetricsServerListenError when the port is taken
 */
export interface StartedMetricsServer {
  readonly server: Server;
  /** Resolves once listening; rejects with a {@link MetricsServerListenError}. Never unhandled. */
  readonly ready: Promise<void>;
}

/**
 * Why the `prometheus: { port }` server is not serving: the message names the
 * address, `code` is Node's (`EADDRINUSE`, `EACCES`...), `cause` the original error.
 *
 * @example
 * await telemetry.metricsServerReady?.catch((e: MetricsServerListenError) => console.error(e.code, e.message));
 */
export class MetricsServerListenError extends Error {
  override readonly name = 'MetricsServerListenError';
  /** Node's error code, e.g. `EADDRINUSE`. */
  readonly code: string | undefined;
  /** The port the server was asked to listen on. */
  readonly port: number;
  constructor(port: number, host: string | undefined, cause: NodeJS.ErrnoException) {
    super(`throughline: the Prometheus metrics server could not listen on ${host ?? '*'}:${port}: ${cause.code ?? cause.message}${cause.code === 'EADDRINUSE' ? ' (the port is taken by another process)' : ''}`, { cause });
    this.code = cause.code;
    this.port = port;
  }
}

/**
 * Serves `handler` at `/metrics` on its own port. A listen error does not
 * throw (a busy metrics port must not take the service down) but is never
 * silent either: it is logged (diag, or stderr when no diag logger is set) and
 * rejects `ready`.
 *
 * @example
 * const { server, ready } = startMetricsServer(handler, { port: 9464 });
 */
export function startMetricsServer(handler: MetricsHandler, { port, host }: MetricsServerOptions): StartedMetricsServer {
  const server = createServer(function metricsServer(req, res) {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      handler(req, res);
      return;
    }
    res.statusCode = 404;
    res.end('Not found: the Prometheus exposition is at /metrics\n');
  });
  const ready = new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.on('error', (error: NodeJS.ErrnoException) => {
      const listenError = new MetricsServerListenError(port, host, error);
      diagLogger.error({ err: listenError, port, ...(host !== undefined && { host }) }, listenError.message);
      reject(listenError);
    });
  });
  // Handled here: whoever reads `ready` sees the rejection, nobody reading it
  // must not turn a busy port into an unhandled rejection that ends the process.
  ready.catch(() => {});
  if (host === undefined) server.listen(port);
  else server.listen(port, host);
  return { server, ready };
}

/**
 * Stops accepting, lets a scrape in progress finish, then closes what is left
 * after `graceMs`. Resolves when the server is closed (at once if it never listened).
 *
 * @example
 * await closeMetricsServer(server, 1000);
 */
export async function closeMetricsServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
    });
  } finally {
    clearTimeout(timer);
  }
}
