import { trace } from '@opentelemetry/api';
import express from 'express';
import { createServer } from 'node:http';
import { getTraceContext, traceContext } from 'throughline';
import { awaiting, countingTracerProvider, userBody } from './shared.mjs';

/** traceContext() with a real TracerProvider (BatchSpanProcessor, counting exporter). */
export async function start() {
  const tracing = countingTracerProvider();
  trace.setGlobalTracerProvider(tracing.provider);
  const app = express();
  app.use(traceContext());
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, getTraceContext().traceId));
    }),
  );
  return { server: createServer(app), spans: tracing.spans };
}
