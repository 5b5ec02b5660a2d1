// The downstream service of the demo. It runs in its own server so the
// orders service's outbound call crosses a real socket, and its spans show
// the trace continuing in a second service.
import express, { type Express } from 'express';
import { getTraceContext, traceContext } from 'throughline';

/** Stock levels by SKU; anything unknown has none. */
const STOCK: Record<string, number> = { 'sku-1': 12, 'sku-2': 3, 'sku-42': 7 };

export function createInventoryApp(): Express {
  const app = express();
  app.use(traceContext());
  app.get('/inventory/:sku', (req, res) => {
    res.json({ sku: req.params.sku, available: STOCK[req.params.sku] ?? 0, traceId: getTraceContext().traceId });
  });
  return app;
}
