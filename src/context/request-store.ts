import { context, createContextKey, type Context } from '@opentelemetry/api';
import { OutsideContextError } from '../errors.js';

/**
 * The typed shape of per-request values. Empty on purpose: augment it in your
 * application so `setContextValue`/`getContextValue` are type-checked.
 *
 * @example
 * declare module 'throughline' {
 *   interface ContextValues {
 *     tenantId: string;
 *     user: { id: string; role: 'admin' | 'member' };
 *   }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ContextValues {}

/** What throughline keeps per request, carried in the OpenTelemetry context. */
export interface RequestState {
  /** The request id read from (or generated for) the request id header. */
  readonly requestId: string | undefined;
  /** The values set with `setContextValue` during this request; created on the first one. */
  values: Map<PropertyKey, unknown> | undefined;
}

const REQUEST_STATE_KEY = createContextKey('throughline.request-state');

export function createRequestState(requestId: string | undefined): RequestState {
  return { requestId, values: undefined };
}

export function setRequestState(ctx: Context, state: RequestState): Context {
  return ctx.setValue(REQUEST_STATE_KEY, state);
}

export function getRequestState(ctx: Context = context.active()): RequestState | undefined {
  return ctx.getValue(REQUEST_STATE_KEY) as RequestState | undefined;
}

/**
 * Stores a value for the current request. Every later hop of the same request
 * (awaits, timers, bound emitters, detached jobs) sees it; no other request does.
 * Throws {@link OutsideContextError} outside a request.
 *
 * @example
 * app.use((req, _res, next) => { setContextValue('tenantId', String(req.headers['x-tenant'])); next(); });
 */
export function setContextValue<K extends keyof ContextValues>(key: K, value: ContextValues[K]): void {
  const state = getRequestState();
  if (state === undefined) throw new OutsideContextError('setContextValue()');
  (state.values ??= new Map()).set(key, value);
}

/**
 * Reads a value stored with {@link setContextValue} for the current request;
 * `undefined` when unset or outside a request.
 *
 * @example
 * const tenant = getContextValue('tenantId');
 */
export function getContextValue<K extends keyof ContextValues>(key: K): ContextValues[K] | undefined {
  return getRequestState()?.values?.get(key) as ContextValues[K] | undefined;
}
