// Wires the demo the way a production service would: telemetry first, then
// the app, then graceful shutdown owning the server. `main.ts` runs it on its
// own; the rollout proof runs it in each cluster worker.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import { gracefulShutdown, setupTelemetry, type GracefulShutdown, type GracefulShutdownOptions } from 'throughline';
import { createLogger } from './logger.js';
import { createOrdersApp, type Order } from './orders-app.js';
import { createDemoQueue } from './queue.js';
import { recentSpans } from './recent-spans.js';

export interface DemoServiceOptions {
  readonly port: number;
  readonly host: string;
  readonly inventoryUrl: string;
  /**
   * Where spans go. Default: OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is
   * set, otherwise kept in memory and served on `GET /debug/traces/:traceId`.
   */
  readonly traceExporter?: SpanExporter;
  readonly logger?: Logger;
  /** Passed through to gracefulShutdown (timeouts, signals, exit). */
  readonly shutdown?: Omit<GracefulShutdownOptions, 'telemetry' | 'logger' | 'beforeExit'>;
  readonly emailDelayMs?: number;
}

export interface DemoService {
  readonly server: Server;
  readonly url: string;
  readonly shutdown: GracefulShutdown;
}

export async function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const logger = options.logger ?? createLogger();
  const recent = recentSpans();
  const telemetry = setupTelemetry({
    serviceName: 'orders',
    serviceVersion: '1.0.0',
    traceExporter: options.traceExporter ?? (process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] ? 'otlp' : recent.exporter),
  });
  const fulfilment = createDemoQueue<Order>({
    name: 'fulfilment',
    handle: async (order) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.info({ orderId: order.id }, 'order sent to fulfilment');
    },
    onError: (error, order) => logger.error({ err: error, orderId: order.id }, 'fulfilment failed'),
  });
  const app = createOrdersApp({
    inventoryUrl: options.inventoryUrl,
    logger,
    fulfilment,
    metricsHandler: telemetry.metricsHandler,
    tracesHandler: recent.handler,
    ...(options.emailDelayMs === undefined ? {} : { emailDelayMs: options.emailDelayMs }),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(options.port, options.host, () => resolve(s));
  });
  const shutdown = gracefulShutdown(server, {
    ...options.shutdown,
    telemetry,
    logger,
    beforeExit: [function closeFulfilmentQueue() {
      return fulfilment.close();
    }],
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${options.host}:${port}`, shutdown };
}
