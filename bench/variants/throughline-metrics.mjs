import { metrics, trace } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express5 from 'express';
import { createServer } from 'node:http';
import { getTraceContext, traceContext } from 'throughline';
import { awaiting, countingTracerProvider, userBody } from './shared.mjs';

/**
 * traceContext() with spans and metrics: the spans setup plus a global
 * MeterProvider read by the PrometheusExporter, served on the app's /metrics.
 */
export async function start({ express = express5 } = {}) {
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
