// The variants, in table order. `load` imports lazily: a variant's module (and
// what it registers globally) is only ever loaded in that variant's process.
export const VARIANTS = [
  { name: 'node-http', label: 'bare node:http', load: () => import('./node-http.mjs') },
  { name: 'express', label: 'bare Express 5', load: () => import('./express.mjs') },
  { name: 'throughline-context', label: 'throughline, context only', load: () => import('./throughline-context.mjs') },
  { name: 'throughline-spans', label: 'throughline, spans', load: () => import('./throughline-spans.mjs') },
  { name: 'throughline-metrics', label: 'throughline, spans + metrics', load: () => import('./throughline-metrics.mjs') },
  { name: 'otel-auto', label: 'OTel auto-instrumentation (http + express)', load: () => import('./otel-auto.mjs') },
  { name: 'cls-rtracer', label: 'cls-rtracer', load: () => import('./cls-rtracer.mjs') },
  { name: 'express-http-context', label: 'express-http-context', load: () => import('./express-http-context.mjs') },
  // Floors: hand-written minimal middlewares doing the same work as a
  // throughline mode; the targets are measured against them in the same run.
  { name: 'floor-context', label: 'floor: context only (hand-written)', load: () => import('./floors/context.mjs') },
  { name: 'floor-spans', label: 'floor: same SDK span + histogram (hand-written)', load: () => import('./floors/spans.mjs') },
];
