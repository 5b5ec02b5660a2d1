// The orders service: what a real Express handler looks like with throughline.
// Nothing here passes a context around by hand; the trace follows the request
// into the downstream call, the confirmation job and the queue consumer.
import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { getTraceContext, healthRoutes, runDetached, traceContext, tracedFetch } from 'throughline';
import type { DemoQueue } from './queue.js';

export interface Order {
  readonly id: string;
  readonly sku: string;
  readonly quantity: number;
  readonly traceId: string;
}

export interface OrdersAppOptions {
  /** Base URL of the inventory service, e.g. `http://127.0.0.1:3001`. */
  readonly inventoryUrl: string;
  readonly logger: Logger;
  /** Where paid orders go for fulfilment. */
  readonly fulfilment: DemoQueue<Order>;
  /** Serves the Prometheus exposition (setupTelemetry's `metricsHandler`). */
  readonly metricsHandler: RequestHandler;
  /** Serves `GET /debug/traces/:traceId` (the demo's in-memory spans). */
  readonly tracesHandler?: RequestHandler<{ traceId: string }>;
  /** Simulated time the confirmation email takes, in ms. */
  readonly emailDelayMs?: number;
}

/** Sends the order confirmation; stands in for an SMTP or email API call. */
async function sendConfirmation(order: Order, delayMs: number, logger: Logger, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, delayMs);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
  logger.info({ orderId: order.id }, 'confirmation sent');
}

export function createOrdersApp(options: OrdersAppOptions): Express {
  const { inventoryUrl, logger, fulfilment, metricsHandler, tracesHandler, emailDelayMs = 20 } = options;
  const orders = new Map<string, Order>();
  const app = express();

  app.use(traceContext());
  app.use(
    healthRoutes({
      checks: {
        // Ready only while the downstream answers: a pod that cannot take orders should not get traffic.
        inventory: async () => {
          const res = await fetch(`${inventoryUrl}/inventory/sku-1`, { signal: AbortSignal.timeout(500) });
          if (!res.ok) throw new Error(`inventory answered ${res.status}`);
        },
      },
    }),
  );
  app.get('/metrics', metricsHandler);
  if (tracesHandler) app.get('/debug/traces/:traceId', tracesHandler);
  app.use(express.json());

  app.post('/orders', async (req, res) => {
    const { sku, quantity } = req.body as { sku?: unknown; quantity?: unknown };
    if (typeof sku !== 'string' || typeof quantity !== 'number' || quantity < 1) {
      res.status(400).json({ error: 'body must be {"sku": string, "quantity": number >= 1}' });
      return;
    }
    const stock = (await (await tracedFetch(`${inventoryUrl}/inventory/${encodeURIComponent(sku)}`)).json()) as {
      available: number;
    };
    if (stock.available < quantity) {
      logger.info({ sku, quantity, available: stock.available }, 'order rejected: out of stock');
      res.status(409).json({ error: 'out of stock', available: stock.available });
      return;
    }
    const order: Order = { id: randomUUID(), sku, quantity, traceId: getTraceContext().traceId };
    orders.set(order.id, order);
    logger.info({ orderId: order.id, sku, quantity }, 'order created');

    // The response does not wait for the email, but shutdown does, and the job stays on this trace.
    runDetached(({ signal }) => sendConfirmation(order, emailDelayMs, logger, signal), { name: 'send-confirmation' });
    fulfilment.publish(order);

    res.status(201).json(order);
  });

  app.get('/orders/:id', (req, res) => {
    const order = orders.get(req.params.id);
    if (order === undefined) res.status(404).json({ error: 'no such order' });
    else res.json(order);
  });

  return app;
}
