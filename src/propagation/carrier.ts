import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { ensureContextManager } from '../context/context-manager.js';
import { describeValue, errorTypeOf, exceptionOf, messageOf } from '../internal/describe.js';
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer.js';
import { expectBoolean, expectFunction, expectOptionsObject, expectString, rejectUnknownKeys } from '../internal/validate.js';
import { activePropagator, extractOrRoot } from './propagator.js';

// Messaging semantic conventions (still "incubating", so the names are copied
// here as the OpenTelemetry JS docs advise rather than importing the unstable entry).
// https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';

/** A message's string headers: a job payload field, queue message attributes, `workerData`. */
export type Carrier = Record<string, string>;

/** Messaging options shared by {@link injectContext} and {@link runWithContext}. */
export interface MessagingSpanOptions {
  /** `messaging.system`: `'rabbitmq'`, `'aws_sqs'`, `'kafka'`, or your own (`'worker_threads'`). */
  system?: string;
  /** `messaging.destination.name`: the queue or topic; also the span name's suffix. */
  destination?: string;
  /** Extra span attributes. */
  attributes?: Attributes;
}

/** Options of {@link injectContext}. */
export interface InjectContextOptions extends MessagingSpanOptions {
  /**
   * Start a PRODUCER span (`create <destination>`) for the message and inject
   * its context, so every message gets its own creation span. Default `false`:
   * inject the active context as it is.
   */
  span?: boolean;
}

/** Options of {@link runWithContext}. */
export interface RunWithContextOptions extends MessagingSpanOptions {
  /**
   * Run `fn` inside a CONSUMER span (`process <destination>`), child of the
   * carrier's context. Default `true`. `false`: only restore the context.
   */
  span?: boolean;
}

/** The defaults of {@link injectContext}'s and {@link runWithContext}'s `span` option. */
export const CARRIER_DEFAULTS = {
  injectSpan: false,
  consumerSpan: true,
} as const;

const KNOWN = ['span', 'system', 'destination', 'attributes'] as const;

function resolveOptions(fn: string, input: unknown, spanDefault: boolean) {
  const raw = expectOptionsObject('options', input);
  rejectUnknownKeys(fn, raw, KNOWN);
  const opts: MessagingSpanOptions & { span: boolean } = { span: spanDefault, ...raw };
  expectBoolean('span', opts.span);
  if (opts.system !== undefined) expectString('system', opts.system);
  if (opts.destination !== undefined) expectString('destination', opts.destination);
  if (opts.attributes !== undefined) expectOptionsObject('attributes', opts.attributes);
  return opts;
}

function messagingSpan(operation: 'create' | 'process', kind: SpanKind, opts: MessagingSpanOptions, parent: Context): Span {
  const attributes: Attributes = {
    ...opts.attributes,
    [ATTR_MESSAGING_OPERATION_NAME]: operation,
    [ATTR_MESSAGING_OPERATION_TYPE]: operation,
  };
  if (opts.system !== undefined) attributes[ATTR_MESSAGING_SYSTEM] = opts.system;
  if (opts.destination !== undefined) attributes[ATTR_MESSAGING_DESTINATION_NAME] = opts.destination;
  // Span name per the conventions: "{operation} {destination}".
  const name = opts.destination === undefined ? operation : `${operation} ${opts.destination}`;
  return trace.getTracer(TRACER_NAME, TRACER_VERSION).startSpan(name, { kind, attributes }, parent);
}

const carrierGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key];
    return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
      ? value
      : undefined;
  },
};

/**
 * Writes the active context (`traceparent`, `tracestate`, `baggage`) into
 * `carrier` and returns it: put it in a job payload, message headers or a
 * worker's `workerData`. With `span: true`, first starts (and ends) a PRODUCER
 * span for the message, per the messaging semantic conventions.
 *
 * @example
 * await queue.add('email', { to, trace: injectContext({}, { span: true, system: 'bullmq', destination: 'email' }) });
 */
export function injectContext<C extends Record<string, unknown> = Carrier>(
  carrier: C = {} as C,
  options?: InjectContextOptions,
): C & Carrier {
  const opts = resolveOptions('injectContext', options, CARRIER_DEFAULTS.injectSpan);
  if (carrier === null || typeof carrier !== 'object') throw new TypeError(`Expected \`carrier\` to be an object, got ${describeValue(carrier)}`);
  let ctx = context.active();
  if (opts.span) {
    const span = messagingSpan('create', SpanKind.PRODUCER, opts, ctx);
    ctx = trace.setSpan(ctx, span);
    span.end();
  }
  activePropagator().inject(ctx, carrier, {
    set(target: Record<string, unknown>, key, value) {
      target[key] = value;
    },
  });
  return carrier as C & Carrier;
}

/**
 * The context a carrier describes, on top of the empty context. A missing or
 * malformed carrier gives the empty context (a new trace starts), never an error.
 *
 * @example
 * const parent = extractContext(message.headers);
 */
export function extractContext(carrier: unknown): Context {
  if (carrier === null || typeof carrier !== 'object') return ROOT_CONTEXT;
  return extractOrRoot(carrier, carrierGetter, 'a carrier');
}

/**
 * Continues the trace a carrier (from {@link injectContext}) describes and runs
 * `fn` in it, inside a CONSUMER span (`process <destination>`, messaging
 * semantic conventions) unless `span: false`. A malformed or missing carrier
 * starts a new trace; it never throws. `fn`'s result is returned and its errors
 * are recorded on the span and rethrown unchanged.
 *
 * @example
 * worker.process(async (job) =>
 *   runWithContext(job.data.trace, () => sendEmail(job.data), { system: 'bullmq', destination: 'email' }),
 * );
 */
export function runWithContext<T>(carrier: unknown, fn: () => T, options?: RunWithContextOptions): T {
  expectFunction('fn', fn);
  const opts = resolveOptions('runWithContext', options, CARRIER_DEFAULTS.consumerSpan);
  ensureContextManager();
  const parent = extractContext(carrier);
  if (!opts.span) return context.with(parent, fn);
  const span = messagingSpan('process', SpanKind.CONSUMER, opts, parent);
  const fail = (error: unknown) => {
    span.recordException(exceptionOf(error));
    span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
    span.end();
  };
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), fn);
  } catch (error) {
    fail(error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        fail(error);
        throw error;
      },
    ) as T;
  }
  span.end();
  return result;
}
