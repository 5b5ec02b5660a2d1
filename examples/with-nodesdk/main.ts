// node --import tsx --import ./examples/with-nodesdk/register.ts examples/with-nodesdk/main.ts
// Starts `stock` and `front`, then shuts both down gracefully on SIGTERM:
// gracefulShutdown() drains first and shuts the NodeSDK down (flushing its
// spans) after the drain. Do not use @opentelemetry/auto-instrumentations-node/register
// with it: that entry shuts the SDK down the moment SIGTERM arrives, so the
// spans of the requests still draining are lost.
import type { AddressInfo } from 'node:net';
import { gracefulShutdown } from 'throughline';
import { sdk } from './register.js';
import { createFrontApp, createStockApp, type Received } from './services.js';

const received: Received = { traceparents: [] };
const stock = createStockApp(received).listen(0);
await new Promise((resolve) => stock.once('listening', resolve));
const stockUrl = `http://127.0.0.1:${(stock.address() as AddressInfo).port}`;
const front = createFrontApp(stockUrl, 'tracedFetch').listen(Number(process.env['PORT'] ?? 3000));
gracefulShutdown(front, { telemetry: sdk, beforeExit: [() => new Promise<void>((resolve) => stock.close(() => resolve()))] });
