// `npm start`: the orders service on 127.0.0.1:3000 (PORT, HOST) and its
// downstream inventory service on the next port (any free port when PORT=0),
// with pino logs on stdout. DRAIN_DELAY_MS shortens the 5 s drain on Ctrl-C.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInventoryApp } from './inventory.js';
import { createLogger } from './logger.js';
import { startDemoService } from './service.js';

const port = Number(process.env['PORT'] ?? 3000);
const host = process.env['HOST'] ?? '127.0.0.1';
const logger = createLogger();

const inventory = await new Promise<Server>((resolve) => {
  const s = createInventoryApp().listen(port === 0 ? 0 : port + 1, host, () => resolve(s));
});
const inventoryUrl = `http://${host}:${(inventory.address() as AddressInfo).port}`;
const drainDelayMs = process.env['DRAIN_DELAY_MS'];
const { url, shutdown } = await startDemoService({
  port,
  host,
  inventoryUrl,
  logger,
  ...(drainDelayMs === undefined ? {} : { shutdown: { drainDelayMs: Number(drainDelayMs) } }),
});
shutdown.onPhase((phase) => {
  if (phase === 'stopped') inventory.close();
});

process.stdout.write(
  [
    '',
    `throughline demo: orders service on ${url}, inventory service on ${inventoryUrl}`,
    '',
    'Try:',
    `  curl -s -X POST ${url}/orders -H 'content-type: application/json' \\`,
    `       -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' -d '{"sku":"sku-1","quantity":2}'`,
    '     -> 201 with the order; every log line of the request, the confirmation job and the',
    '        fulfilment consumer carries trace_id 4bf92f3577b34da6a3ce929d0e0e4736',
    `  curl -s ${url}/debug/traces/4bf92f3577b34da6a3ce929d0e0e4736`,
    '     -> that trace: "tree" shows POST /orders > GET > GET /inventory/:sku, send-confirmation,',
    '        create fulfilment > process fulfilment; "spans" has ids and parents (exported in batches: wait ~5 s)',
    `  curl -s ${url}/health/ready     -> 200 {"status":"ok",...}; 503 once shutdown starts`,
    `  curl -s ${url}/metrics          -> Prometheus exposition (http_server_request_duration_seconds, throughline_*, ...)`,
    `  Ctrl-C                          -> graceful shutdown: ${drainDelayMs ?? 5000} ms draining (readiness 503, still serving),`,
    '                                     then closing, jobs, hooks, flushing; phases logged. Ctrl-C again forces exit.',
    '',
  ].join('\n'),
);
