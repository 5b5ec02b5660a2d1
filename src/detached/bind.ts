import { context } from '@opentelemetry/api';
import type { EventEmitter } from 'node:events';
import { expectFunction, invalidOption } from '../internal/validate.js';

/**
 * Binds `fn` to the context active now: whoever calls it later (a pool that
 * hands out a resource another request released, a queue library, a
 * callback-style client), it runs on the caller's trace.
 *
 * @example
 * pool.acquire(bindDetached((err, conn) => {
 *   logger.info(logFields(), 'got a connection'); // this request's trace id
 * }));
 */
export function bindDetached<F extends (...args: never[]) => unknown>(fn: F): F {
  expectFunction('fn', fn);
  return context.bind(context.active(), fn);
}

const ADD_METHODS = ['addListener', 'on', 'prependListener', 'once', 'prependOnceListener'] as const;
const REMOVE_METHODS = ['removeListener', 'off'] as const;
const BOUND = Symbol.for('throughline.bind-emitter');

type Listener = (...args: unknown[]) => unknown;
type AnyEmitter = EventEmitter & { [BOUND]?: true };

/**
 * Makes every listener added to `emitter` from now on run in the context that
 * was active when it was added, not in the context of whoever calls `emit()`.
 * That is what an emitter created outside the request (a shared bus, a client,
 * a pool) needs: without it, request A's listener runs on request B's trace
 * when B triggers the event. Idempotent; `removeListener`/`off` accept the
 * original listener. Returns the same emitter.
 *
 * Unlike `context.bind(ctx, emitter)` from `@opentelemetry/api`, which binds
 * every listener to one fixed context, this binds each listener to its own.
 *
 * @example
 * const bus = bindEmitter(new EventEmitter()); // at startup, outside any request
 * app.get('/wait', (req, res) => {
 *   bus.once('ready', () => res.json(getTraceContext())); // this request's trace
 * });
 */
export function bindEmitter<E extends EventEmitter>(emitter: E): E {
  const target = emitter as AnyEmitter;
  if (target === null || typeof target !== 'object' || typeof target.on !== 'function' || typeof target.emit !== 'function') {
    throw invalidOption('emitter', 'an EventEmitter', emitter);
  }
  if (target[BOUND]) return emitter;
  target[BOUND] = true;
  // Keyed weakly by listener (not by event name), so emitters with one-off
  // event names (`reply:<id>`) do not accumulate entries.
  const wrappers = new WeakMap<Listener, Map<string | symbol, Listener>>();
  // `once` adds its own wrapper through `this.on`; the flag keeps that inner
  // call from binding a second time (which would break removeListener).
  let adding = false;
  for (const method of ADD_METHODS) {
    const original = (target as unknown as Record<string, unknown>)[method] as (event: string | symbol, listener: Listener) => E;
    if (typeof original !== 'function') continue;
    target[method] = function (this: E, event: string | symbol, listener: Listener) {
      if (adding || typeof listener !== 'function') return original.call(this, event, listener);
      const wrapped = context.bind(context.active(), listener);
      let byEvent = wrappers.get(listener);
      if (byEvent === undefined) wrappers.set(listener, (byEvent = new Map<string | symbol, Listener>()));
      byEvent.set(event, wrapped);
      adding = true;
      try {
        return original.call(this, event, wrapped);
      } finally {
        adding = false;
      }
    } as E[typeof method];
  }
  for (const method of REMOVE_METHODS) {
    const original = (target as unknown as Record<string, unknown>)[method] as (event: string | symbol, listener: Listener) => E;
    if (typeof original !== 'function') continue;
    target[method] = function (this: E, event: string | symbol, listener: Listener) {
      const wrapped = wrappers.get(listener)?.get(event);
      return original.call(this, event, wrapped ?? listener);
    } as E[typeof method];
  }
  return emitter;
}
