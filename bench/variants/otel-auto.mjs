import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { createRequire } from 'node:module';
import { awaiting, countingTracerProvider, userBody } from './shared.mjs';

/**
 * OpenTelemetry's auto-instrumentation (http + express), same tracer provider
 * and exporter as the throughline variants. No meter provider: the comparison
 * leaves out the metrics instrumentation-http would record, which favours it.
 */
export async function start() {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracing = countingTracerProvider();
  trace.setGlobalTracerProvider(tracing.provider);
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()] });
  // The instrumentations patch through require-in-the-middle, so http and
  // express are loaded with require, after registration, as in a CJS service.
  const require = createRequire(import.meta.url);
  const http = require('node:http');
  const express = require('express');
  const app = express();
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, trace.getActiveSpan()?.spanContext().traceId));
    }),
  );
  return { server: http.createServer(app), spans: tracing.spans };
}
