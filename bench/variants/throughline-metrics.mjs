import { metrics, trace } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express5 from 'express';
import { createServer } from 'node:http';
import { awaiting, countingTracerProvider, userBody } from './shared.mjs';

// `entry`: where traceContext() and getTraceContext() are imported from.
// - root (the default): `throughline`, which also loads setupTelemetry()'s
//   SDKs and OTLP exporters, as an app that imports the root does;
// - subpaths: `throughline/express` and `throughline/core`, what an app that
//   sets up its own SDK needs, and no module the spans floor does not load.
export const ENTRIES = ['root', 'subpaths'];

/**
 * traceContext() with spans and metrics: the spans setup plus a global
 * MeterProvider read by the PrometheusExporter, served on the app's /metrics.
 */
export async function start({ express = express5, entry = 'root' } = {}) {
  if (!ENTRIES.includes(entry)) throw new TypeError(`Expected \`entry\` to be one of ${ENTRIES.join(', ')}, got ${entry}`);
  const { traceContext } = await import(entry === 'root' ? 'throughline' : 'throughline/express');
  const { getTraceContext } = await import(entry === 'root' ? 'throughline' : 'throughline/core');
  const tracing = countingTracerProvider();
  trace.setGlobalTracerProvider(tracing.provider);
  // No exporter server of its own: several variants run at once, and the
  // app serving /metrics is how a service is deployed anyway.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));
  const app = express();
  app.use(traceContext());
  app.get('/metrics', (req, res) => prometheus.getMetricsRequestHandler(req, res));
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, getTraceContext().traceId));
    }),
  );
  return { server: createServer(app), spans: tracing.spans };
}
