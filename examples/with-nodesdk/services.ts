// Two services, as throughline runs beside an OpenTelemetry NodeSDK with the
// auto-instrumentations at their defaults: `front` answers POST /orders/:id,
// starts a background job and calls `stock` downstream.
import express, { type Express } from 'express';
import { getTraceContext, healthRoutes, runDetached, traceContext, tracedFetch } from 'throughline';

/** What the downstream service saw: the traceparent header of each call, exactly as received. */
export interface Received {
  traceparents: (string | undefined)[];
}

export function createStockApp(received: Received): Express {
  const app = express();
  app.use(traceContext());
  app.get('/stock/:sku', (req, res) => {
    const header = req.headers.traceparent;
    received.traceparents.push(Array.isArray(header) ? header.join(', ') : header);
    res.json({ sku: req.params.sku, available: 3 });
  });
  return app;
}

/** `client: 'tracedFetch'` or `'fetch'`: the downstream call, with or without throughline's wrapper. */
export function createFrontApp(stockUrl: string, client: 'tracedFetch' | 'fetch'): Express {
  const call = client === 'tracedFetch' ? tracedFetch : fetch;
  const app = express();
  app.use(traceContext());
  app.use(healthRoutes());
  app.post('/orders/:id', async (req, res) => {
    const stock = (await (await call(`${stockUrl}/stock/${req.params.id}`)).json()) as { available: number };
    runDetached(async function sendConfirmation() {
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    res.status(201).json({ id: req.params.id, available: stock.available, ...getTraceContext() });
  });
  return app;
}
