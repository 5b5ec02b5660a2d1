import { context, metrics, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express5 from 'express';
import { createServer } from 'node:http';
import { awaiting, countingTracerProvider, userBody } from '../shared.mjs';
import { echoRequestId, emitIn } from './context.mjs';

// The spans + metrics floor: a minimal middleware that records what
// traceContext() records with the same SDK objects (tracer provider, batch
// processor, counting exporter, MeterProvider + PrometheusExporter) — the
// same SERVER span with the same eight start attributes and the route and
// status at the end, and the same http.server.request.duration histogram with
// the same buckets and labels — plus the context floor's request id and
// req/res emit() binding, which traceContext() does in every mode. Nothing
// else: no options, no baggage, no error hooks, no active-requests count.
// What traceContext() costs above this is its own; the rest is the SDK's.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
// FLOOR_SPAN_ATTRIBUTES=end: the eight request attributes set in one
// setAttributes() call at the end instead of passed at start, the toggle that
// measures what the SDK's start path costs for them (bench/findings.md). At
// start is what the HTTP semantic conventions ask (samplers see them), and
// what traceContext() does.
const ATTRIBUTES_AT_END = process.env.FLOOR_SPAN_ATTRIBUTES === 'end';
const getter = { keys: (c) => Object.keys(c), get: (c, k) => c[k] };

// `steps`: throughline's own steps, added to the floor one at a time to
// split what throughline costs above it in the server (the `floor-spans+…`
// variants, run only when named: `--only` / `--pair`). Each is throughline's
// code from dist/, not a copy:
// - close: a 'close' listener beside 'finish', both removed when either runs
//   (what ends an aborted request);
// - layers: the route tracker as the request's layer hooks, with the span's
//   exception recorder, over Express's patched router layers;
// - state: the request's state (request id, span) in the same context as the span.
export const STEPS = ['close', 'layers', 'state'];

/** The spans + metrics floor: the same SDK span and histogram from a minimal middleware. */
export async function start({ express = express5, steps = [] } = {}) {
  const unknown = steps.filter((s) => !STEPS.includes(s));
  if (unknown.length > 0) throw new TypeError(`Expected \`steps\` to be some of ${STEPS.join(', ')}, got ${unknown.join(', ')}`);
  const CLOSE = steps.includes('close');
  const LAYERS = steps.includes('layers');
  const STATE = steps.includes('state');
  // Imported only for a step: the floor itself needs nothing of throughline.
  const { createRequestState, requestContextOf } = STATE ? await import('../../../dist/src/context/request-store.js') : {};
  const { LAYER_HOOKS, patchExpressLayers } = LAYERS ? await import('../../../dist/middleware/trace-context/express-layers.js') : {};
  const { trackRoute } = LAYERS ? await import('../../../dist/middleware/trace-context/route.js') : {};
  const { exceptionRecorder } = LAYERS ? await import('../../../dist/middleware/trace-context/span-errors.js') : {};
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const tracing = countingTracerProvider();
  trace.setGlobalTracerProvider(tracing.provider);
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));
  const tracer = trace.getTracer('floor');
  const duration = metrics.getMeter('floor').createHistogram('http.server.request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: BUCKETS },
  });

  function floorSpans(req, res, next) {
    const startedAt = performance.now();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, getter);
    const url = req.url;
    const q = url.indexOf('?');
    const host = req.headers.host ?? '';
    const colon = host.lastIndexOf(':');
    const attributes = {
      'http.request.method': req.method,
      'url.path': q === -1 ? url : url.slice(0, q),
      'url.scheme': 'http',
      'network.protocol.version': req.httpVersion,
      'server.address': colon === -1 ? host : host.slice(0, colon),
      'server.port': colon === -1 ? 80 : Number(host.slice(colon + 1)),
      'client.address': req.socket.remoteAddress,
      'user_agent.original': req.headers['user-agent'],
    };
    const span = tracer.startSpan(req.method, ATTRIBUTES_AT_END ? { kind: SpanKind.SERVER } : { kind: SpanKind.SERVER, attributes }, parent);
    const route = LAYERS ? trackRoute(exceptionRecorder(span)) : undefined;
    if (LAYERS) {
      req[LAYER_HOOKS] = route;
      patchExpressLayers(req.app);
    }
    const end = () => {
      if (CLOSE) {
        res.removeListener('finish', end);
        res.removeListener('close', end);
      }
      if (LAYERS) req[LAYER_HOOKS] = undefined;
      if (ATTRIBUTES_AT_END) span.setAttributes(attributes);
      // No fallback with the layers step: the bench-floors proof then shows the tracker saw the route.
      const template = LAYERS ? route.route() : req.route?.path;
      span.setAttribute('http.route', template);
      span.setAttribute('http.response.status_code', res.statusCode);
      span.updateName(`${req.method} ${template}`);
      span.end();
      duration.record((performance.now() - startedAt) / 1000, {
        'http.request.method': req.method,
        'url.scheme': 'http',
        'http.route': template,
        'http.response.status_code': res.statusCode,
      });
    };
    // `on`: a response finishes once, and `once` would add a wrapper.
    res.on('finish', end);
    if (CLOSE) res.on('close', end);
    const requestId = echoRequestId(req, res);
    const ctx = STATE ? requestContextOf(parent, span, createRequestState(requestId, span, span.spanContext())) : trace.setSpan(parent, span);
    emitIn(ctx, req);
    emitIn(ctx, res);
    context.with(ctx, next);
  }

  const app = express();
  app.use(floorSpans);
  app.get('/metrics', (req, res) => prometheus.getMetricsRequestHandler(req, res));
  app.get(
    '/users/:id',
    awaiting((req, res) => {
      res.json(userBody(req.params.id, trace.getActiveSpan().spanContext().traceId));
    }),
  );
  return { server: createServer(app), spans: tracing.spans };
}
