import { context, createContextKey, trace, type Context, type Span } from '@opentelemetry/api';
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
  /** The request's SERVER span (its own, adopted or minted): what getters and detached jobs hang on. */
  readonly span: Span | undefined;
  /** The values set with `setContextValue` during this request; created on the first one. */
  values: Map<PropertyKey, unknown> | undefined;
}

const REQUEST_STATE_KEY = createContextKey('throughline.request-state');

export function createRequestState(requestId: string | undefined, span: Span | undefined): RequestState {
  return { requestId, span, values: undefined };
}

export function setRequestState(ctx: Context, state: RequestState): Context {
  return ctx.setValue(REQUEST_STATE_KEY, state);
}

export function getRequestState(ctx: Context = context.active()): RequestState | undefined {
  return ctx.getValue(REQUEST_STATE_KEY) as RequestState | undefined;
}

// instrumentation-router (which Express 5 uses), instrumentation-express and
// instrumentation-connect wrap every middleware and route handler in a span of
// their own and run the handler inside it. Those spans time a layer; they are
// not what a log line, a detached job or the caller's Server-Timing should name:
// the request is the SERVER span (issue 15).
const LAYER_SCOPES: ReadonlySet<string> = new Set([
  '@opentelemetry/instrumentation-router',
  '@opentelemetry/instrumentation-express',
  '@opentelemetry/instrumentation-connect',
]);

/**
 * Whether `span` is a per-layer span of one of {@link LAYER_SCOPES}. Read
 * through the SDK span's `instrumentationScope` (public on the SDK's
 * `ReadableSpan`, which its spans implement); an API-only span has none.
 */
function isLayerSpan(span: Span): boolean {
  const scope = (span as { instrumentationScope?: { name?: unknown } }).instrumentationScope;
  return typeof scope?.name === 'string' && LAYER_SCOPES.has(scope.name);
}

/**
 * `ctx` with the request's SERVER span active in place of a layer span of
 * instrumentation-router, -express or -connect; `ctx` itself otherwise (a
 * span the application started stays active: its children are its own).
 */
export function requestContext(ctx: Context = context.active()): Context {
  const state = getRequestState(ctx);
  if (state?.span === undefined) return ctx;
  const active = trace.getSpan(ctx);
  return active === undefined || active === state.span || !isLayerSpan(active) ? ctx : trace.setSpan(ctx, state.span);
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
