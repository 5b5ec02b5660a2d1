import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
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
  // The NodeSDK's default propagators (tracecontext, baggage). Without them the
  // API's no-op propagator ignores the incoming traceparent: every request
  // started a new trace and skipped the extraction throughline does (found by
  // test/proofs/bench-smoke.test.ts, 2026-12-03).
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
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
