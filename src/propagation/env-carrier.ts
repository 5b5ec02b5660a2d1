// The OpenTelemetry specification's environment-variable carrier:
// https://opentelemetry.io/docs/specs/otel/context/env-carriers/
// Propagator fields become upper-case variable names (traceparent ->
// TRACEPARENT), because environment variable names are conventionally
// upper-case and case-sensitive on POSIX.
import { context, type Context } from '@opentelemetry/api';
import { ensureContextManager } from '../context/context-manager.js';
import { activePropagator } from './propagator.js';
import { extractContext } from './carrier.js';

type Env = Record<string, string | undefined>;

const hasOwn = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);

/** A propagator field as an environment variable name: upper-case, `[A-Z0-9_]` only. */
export function envName(field: string): string {
  return field.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/**
 * A copy of `env` with the active context as `TRACEPARENT`, `TRACESTATE` and
 * `BAGGAGE`, for `spawn`/`fork`/`execFile`. Inherited values of those
 * variables are replaced (or removed when there is no active trace), so the
 * child continues the caller's trace, not the parent process's. Only `env`'s
 * own enumerable string properties are copied, into an object with no
 * prototype: an own `__proto__` key (as `JSON.parse` makes one) stays an
 * ordinary variable named `__proto__` and never becomes inherited variables
 * that `spawn` would read (it reads inherited ones too, `NODE_OPTIONS`
 * included).
 *
 * @example
 * const child = spawn(process.execPath, ['report.js'], { env: childEnv() });
 */
export function childEnv(env: Env = process.env): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  // Object.keys: own enumerable keys only; the assignment to a null-prototype
  // object defines `__proto__` as a plain property instead of calling the setter.
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (typeof value === 'string') out[key] = value;
  }
  const propagator = activePropagator();
  for (const field of propagator.fields()) delete out[envName(field)];
  propagator.inject(context.active(), out, {
    set(carrier: Record<string, string>, key, value) {
      carrier[envName(key)] = value;
    },
  });
  return out;
}

/**
 * The context the environment carries (`TRACEPARENT`, `TRACESTATE`,
 * `BAGGAGE`), to run a child process's work in: missing or malformed values
 * give the empty context. Only own properties of `env` are read (an inherited
 * `TRACEPARENT` is not the environment's). Also registers the AsyncLocalStorage context manager
 * if none works yet, so `context.with()` carries it.
 *
 * @example
 * // at the start of the child process
 * context.with(contextFromEnv(), () => main());
 */
export function contextFromEnv(env: Env = process.env): Context {
  ensureContextManager();
  const carrier = Object.create(null) as Record<string, string>;
  for (const field of activePropagator().fields()) {
    const name = envName(field);
    const value = hasOwn(env, name) ? env[name] : undefined;
    if (typeof value === 'string') carrier[field] = value;
  }
  return extractContext(carrier);
}
