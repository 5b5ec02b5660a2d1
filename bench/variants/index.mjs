import { createRequire } from 'node:module';

// The variants, in table order. `load` imports lazily: a variant's module (and
// what it registers globally) is only ever loaded in that variant's process.
// `options`, when set, go to the module's start() beside `express`.
export const VARIANTS = [
  { name: 'node-http', label: 'bare node:http', load: () => import('./node-http.mjs') },
  { name: 'express', express: 5, label: 'bare Express 5', load: () => import('./express.mjs') },
  { name: 'throughline-context', express: 5, label: 'throughline, context only', load: () => import('./throughline-context.mjs') },
  { name: 'throughline-spans', label: 'throughline, spans', load: () => import('./throughline-spans.mjs') },
  { name: 'throughline-metrics', express: 5, label: 'throughline, spans + metrics', load: () => import('./throughline-metrics.mjs') },
  { name: 'otel-auto', label: 'OTel auto-instrumentation (http + express)', load: () => import('./otel-auto.mjs') },
  { name: 'cls-rtracer', label: 'cls-rtracer', load: () => import('./cls-rtracer.mjs') },
  { name: 'express-http-context', label: 'express-http-context', load: () => import('./express-http-context.mjs') },
  // Floors: hand-written minimal middlewares doing the same work as a
  // throughline mode; the targets are measured against them in the same run.
  { name: 'floor-context', express: 5, label: 'floor: context only (hand-written)', load: () => import('./floors/context.mjs') },
  // The same floor entering its context by `context.attach()` (`withScope()` on Node 25.9+), to pair with the one above.
  { name: 'floor-context-attach', express: 5, options: { enter: 'attach' }, label: 'floor: context only, entered by attach() (hand-written)', load: () => import('./floors/context.mjs') },
  { name: 'floor-context-dc', express: 5, label: 'floor: context only from diagnostics_channel (hand-written)', load: () => import('./floors/context-dc.mjs') },
  { name: 'floor-spans', express: 5, label: 'floor: same SDK span + histogram (hand-written)', load: () => import('./floors/spans.mjs') },
  // The spans floor plus one of throughline's steps, or all three (floors/spans.mjs,
  // `steps`), to split throughline's cost above the floor in the server: `optIn`,
  // so only a run that names them (`--only`, then `--pair=floor-spans+close:floor-spans`)
  // starts them.
  ...[['close'], ['layers'], ['state'], ['close', 'layers', 'state']].map((steps) => ({
    name: `floor-spans+${steps.length === 1 ? steps[0] : 'all'}`,
    express: 5,
    optIn: true,
    options: { steps },
    label: `floor: spans + metrics, with throughline's ${steps.join(', ')} step${steps.length === 1 ? '' : 's'}`,
    load: () => import('./floors/spans.mjs'),
  })),
  // The same on Express 4 (the `express4` alias): the targets hold for both majors.
  { name: 'express4', label: 'bare Express 4', express: 4, load: () => import('./express.mjs') },
  { name: 'throughline-context-e4', label: 'throughline, context only (Express 4)', express: 4, load: () => import('./throughline-context.mjs') },
  { name: 'throughline-metrics-e4', label: 'throughline, spans + metrics (Express 4)', express: 4, load: () => import('./throughline-metrics.mjs') },
  { name: 'floor-context-e4', label: 'floor: context only (Express 4)', express: 4, load: () => import('./floors/context.mjs') },
  { name: 'floor-spans-e4', label: 'floor: same SDK span + histogram (Express 4)', express: 4, load: () => import('./floors/spans.mjs') },
  // Spans + metrics imported from `throughline/express` and `/core` instead of
  // the root, which also loads setupTelemetry()'s SDKs and OTLP exporters
  // (throughline-metrics.mjs, `entry`): opt-in, to pair with the variants above.
  ...[5, 4].map((major) => ({
    name: `throughline-metrics${major === 4 ? '-e4' : ''}-subpaths`,
    express: major,
    optIn: true,
    options: { entry: 'subpaths' },
    label: `throughline, spans + metrics, from its subpaths (Express ${major})`,
    load: () => import('./throughline-metrics.mjs'),
  })),
];

/** What a run starts when it names no variant: all but the opt-in ones. */
export const DEFAULT_VARIANTS = VARIANTS.filter((v) => !v.optIn);

/**
 * The Express a variant's app is built with, and its version: for the
 * variants whose start() takes one (`express: 4 | 5` above); the others
 * import Express 5 themselves, or none.
 */
export async function expressFor(variant) {
  if (variant.express === undefined) return { express: undefined, version: undefined };
  const name = variant.express === 4 ? 'express4' : 'express';
  const { version } = createRequire(import.meta.url)(`${name}/package.json`);
  return { express: (await import(name)).default, version };
}
