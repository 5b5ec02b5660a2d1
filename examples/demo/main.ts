// The demo service behind `npm start`: an orders API whose request trace id
// flows through awaits, a timer and an outbound call to a second route.
import express from 'express';
import { getTraceContext, logFields, setupTelemetry, traceContext, tracedFetch } from 'throughline';

const port = Number(process.env['PORT'] ?? 3000);
const host = process.env['HOST'] ?? '127.0.0.1';
const base = `http://${host}:${port}`;

function log(msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...logFields(), ...extra })}\n`);
}

const telemetry = setupTelemetry({ serviceName: 'throughline-demo' });
const app = express();
app.use(traceContext());
app.get('/metrics', telemetry.metricsHandler);

// The "downstream" service, served by the same process to keep the demo to one command.
app.get('/inventory/:sku', (req, res) => {
  log('inventory lookup', { sku: req.params.sku });
  res.json({ sku: req.params.sku, inStock: 3, traceId: getTraceContext().traceId });
});

app.get('/orders/:id', async (req, res) => {
  const hops: Record<string, string> = { handler: getTraceContext().traceId };
  log('order requested', { orderId: req.params.id });
  await new Promise((resolve) => setTimeout(resolve, 10));
  hops['afterTimer'] = getTraceContext().traceId;
  const inventory = (await (await tracedFetch(`${base}/inventory/sku-${req.params.id}`)).json()) as { traceId: string };
  hops['downstreamService'] = inventory.traceId;
  log('order served', { hops });
  res.json({ orderId: req.params.id, trace: getTraceContext(), hops });
});

app.listen(port, host, () => {
  process.stdout.write(
    [
      `throughline demo listening on ${base}`,
      `Try:`,
      `  curl -s ${base}/orders/42`,
      `  curl -s ${base}/metrics`,
      `  curl -s -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' ${base}/orders/42`,
      `Every hop in the answer (handler, after a timer, the downstream service) shows the same trace id.`,
      '',
    ].join('\n'),
  );
});
