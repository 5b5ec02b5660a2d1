import { context, createContextKey, trace, type Context, type Span, type SpanContext } from '@opentelemetry/api';
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
  /**
   * `span`'s context when it is known to be valid (checked once when the
   * request was bound), so the getters, called on every log line, skip the
   * id checks for it.
   */
  readonly spanContext: SpanContext | undefined;
  /** The values set with `setContextValue` during this request; created on the first one. */
  values: Map<PropertyKey, unknown> | undefined;
}

const REQUEST_STATE_KEY = createContextKey('throughline.request-state');

// Constructed, not an object literal, because V8 pretenures literals: it
// tracks each literal's allocation site, and once a site's objects are seen
// surviving a young-generation collection it allocates them straight into the
// old generation. The request state tripped that under load, and a dead state
// in the old generation keeps its request's SDK span alive through every
// scavenge until the next full GC; the spans' own literals were then tenured
// in turn. Objects built by `new` have no allocation site and stay young.
// Measured with `npm run bench:gc -- throughline-metrics-e4` (3 pairs of fresh
// processes, 2026-12-02): promoted 1,478–1,558 KB per scavenge as a literal,
// 165–181 KB constructed; scavenge pause 4.7–4.9 µs a request, 2.2–2.4
// (bench/findings.md, "the promotion is V8 pretenuring").
// The fields are `declare`d so TypeScript emits four plain assignments, not
// class-field definitions before them: `bench/middleware-loop.mjs throughline`,
// min of 9 rounds, 1,614–1,704 ns a call against 1,625–1,838 with fields.
class RequestStateRecord implements RequestState {
  declare readonly requestId: string | undefined;
  declare readonly span: Span | undefined;
  declare readonly spanContext: SpanContext | undefined;
  declare values: Map<PropertyKey, unknown> | undefined;
  constructor(requestId: string | undefined, span: Span | undefined, spanContext: SpanContext | undefined) {
    this.requestId = requestId;
    this.span = span;
    this.spanContext = spanContext;
    this.values = undefined;
  }
}

export function createRequestState(requestId: string | undefined, span: Span | undefined, spanContext?: SpanContext): RequestState {
  return new RequestStateRecord(requestId, span, spanContext);
}

// The OpenTelemetry API's key for the active span: createContextKey() is
// Symbol.for(description), so this is the very key trace.setSpan() uses.
const SPAN_KEY = createContextKey('OpenTelemetry Context Key SPAN');

/**
 * A Context with its own values in one Map over a parent it reads through.
 * The API's contexts copy their Map and create three closures on every
 * setValue(); a request's context needs two values (its span and its state),
 * so building it with the API took two copies and six closures. This one is
 * built once per request with both, its methods live on the prototype, and
 * every context derived from it (a child span's, a baggage entry's) copies
 * only its own small Map and keeps the same parent, so lookups never walk
 * more than one level. Measured with `bench/middleware-loop.mjs throughline
 * --bytes` (context only, 2026-12-02): 5,115 bytes allocated a request with
 * the two setValue() calls, 4,115 with this (the hand-written floor, one
 * setValue(): 4,027). A class because the point is methods shared on a
 * prototype.
 */
class LayeredContext implements Context {
  constructor(
    private readonly parent: Context,
    private readonly values: Map<symbol, unknown>,
  ) {}

  getValue(key: symbol): unknown {
    const value = this.values.get(key);
    // A key set to undefined (deleteValue) hides the parent's value.
    return value !== undefined || this.values.has(key) ? value : this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    const values = new Map(this.values);
    values.set(key, value);
    return new LayeredContext(this.parent, values);
  }

  deleteValue(key: symbol): Context {
    return this.setValue(key, undefined);
  }
}

/** `parent` with `span` active and `state` as the request's state, in one context. */
export function requestContextOf(parent: Context, span: Span, state: RequestState): Context {
  const values = new Map<symbol, unknown>();
  values.set(SPAN_KEY, span);
  values.set(REQUEST_STATE_KEY, state);
  return new LayeredContext(parent, values);
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
 * The span the getters and detached jobs name in `ctx`: the active span, or
 * the request's SERVER span where the active one is a layer span of
 * instrumentation-router, -express or -connect (a span the application
 * started stays: its children are its own).
 */
export function requestSpan(ctx: Context, state: RequestState | undefined): Span | undefined {
  const active = trace.getSpan(ctx);
  return active !== undefined && state?.span !== undefined && active !== state.span && isLayerSpan(active) ? state.span : active;
}

/** `ctx` with {@link requestSpan} active in it. */
export function requestContext(ctx: Context = context.active()): Context {
  const span = requestSpan(ctx, getRequestState(ctx));
  return span === undefined || span === trace.getSpan(ctx) ? ctx : trace.setSpan(ctx, span);
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
