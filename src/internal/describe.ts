// Describing whatever a consumer throws, without throwing. JavaScript lets
// code throw any value: `Object.create(null)` (String() throws: no
// toString), an object whose toString/message/name getter throws, a revoked
// Proxy (every property read, instanceof and even Object.prototype.toString
// throw), a Symbol (template literals throw). An error path that calls
// String(error) on such a value throws from inside the error path, which
// crashed the process from a timer (issue 12). Every site that records or
// logs an error goes through these helpers; the original value is always
// passed on unchanged.
import type { Exception } from '@opentelemetry/api';

/** Longest description produced: a thrown 10 MB string must not become a 10 MB log line or span attribute. */
export const MAX_DESCRIPTION_LENGTH = 500;

/** What a value that cannot be read at all (a revoked Proxy) is described as. */
export const UNREADABLE = '[unreadable value]';

function clip(text: string): string {
  return text.length > MAX_DESCRIPTION_LENGTH ? `${text.slice(0, MAX_DESCRIPTION_LENGTH - 3)}...` : text;
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function isError(value: unknown): value is Error {
  return attempt(() => value instanceof Error) === true;
}

function readString(read: () => unknown): string | undefined {
  const value = attempt(read);
  return typeof value === 'string' ? value : undefined;
}

function describeObject(value: object): string {
  // Object.prototype.toString first: it is what tells a revoked Proxy apart (it throws).
  const tag = attempt(() => Object.prototype.toString.call(value));
  if (tag === undefined) return UNREADABLE;
  const own = attempt(() => {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- its own toString is the point; the default is filtered out
    const text = String(value);
    return text === '[object Object]' ? undefined : text;
  });
  if (own !== undefined) return own;
  // A plain or null-prototype object: its JSON says more than `[object Object]`.
  // JSON.stringify throws on cycles, BigInt values and throwing getters.
  const json = attempt(() => JSON.stringify(value));
  return typeof json === 'string' ? json : tag;
}

/**
 * A one-line description of any value, for logs and span status messages.
 * Never throws. Errors read as `Name: message`.
 *
 * @example
 * describeValue(Object.create(null)); // '{}'
 * describeValue(new TypeError('bad')); // 'TypeError: bad'
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return clip(value);
    case 'undefined':
      return 'undefined';
    case 'symbol':
    case 'bigint':
    case 'number':
    case 'boolean':
      return clip(attempt(() => String(value)) ?? UNREADABLE);
    case 'function':
      return clip(`[function ${readString(() => (value as { name?: unknown }).name) || 'anonymous'}]`);
    default:
      break;
  }
  if (value === null) return 'null';
  if (isError(value)) {
    const name = readString(() => value.name) ?? 'Error';
    const message = readString(() => value.message);
    return clip(message ? `${name}: ${message}` : name);
  }
  return clip(describeObject(value as object));
}

/**
 * An Error's message, or the description of anything else: what a health
 * check reports. Never throws.
 *
 * @example
 * messageOf(new Error('db down')); // 'db down'
 */
export function messageOf(value: unknown): string {
  if (!isError(value)) return describeValue(value);
  return clip(readString(() => value.message) ?? describeValue(value));
}

/**
 * The `error.type` of a thrown value: the Error's name (`TypeError`), or
 * `Error` for anything that is not an Error (the exception event says
 * `NonErrorThrown`). Never throws.
 *
 * @example
 * errorTypeOf(new RangeError('x')); // 'RangeError'
 */
export function errorTypeOf(value: unknown): string {
  if (!isError(value)) return 'Error';
  return readString(() => value.name) || 'Error';
}

/** The exception type recorded for a thrown value that is not an Error. */
export const NON_ERROR_THROWN = 'NonErrorThrown';

/**
 * What to give `span.recordException()` for any thrown value: a plain object
 * with string fields only, read once, so the SDK (which reads `name`,
 * `message` and `stack` itself) cannot hit a throwing getter. Never throws.
 *
 * @example
 * span.recordException(exceptionOf(error));
 */
export function exceptionOf(value: unknown): Exception {
  if (!isError(value)) return { name: NON_ERROR_THROWN, message: describeValue(value) };
  const exception: { name: string; message: string; stack?: string } = {
    name: errorTypeOf(value),
    message: clip(readString(() => value.message) ?? ''),
  };
  const stack = readString(() => value.stack);
  if (stack !== undefined) exception.stack = stack;
  return exception;
}
