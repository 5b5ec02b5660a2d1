import type { Attributes } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import {
  expectBoolean,
  expectFunction,
  expectOptionsObject,
  invalidOption,
  rejectUnknownKeys,
} from '../../src/internal/validate.js';
import { processState } from '../../src/internal/state.js';

/** Options of {@link traceContext}. Every field is optional. */
export interface TraceContextOptions {
  /**
   * Requests that get no span and no HTTP metrics (their context is still
   * bound, so logs keep the incoming trace id): exact paths, regular
   * expressions tested against the path, or a predicate. The default also
   * skips the probes of every `healthRoutes()` under its `prefix` (as mounted
   * at the app's root); a value you pass replaces all of it.
   * @default ['/health/live', '/health/ready', '/health/startup', '/metrics']
   */
  ignore?: readonly (string | RegExp)[] | ((req: IncomingMessage) => boolean);
  /**
   * Whether to continue the caller's trace. When false (or the predicate
   * returns false) the request starts a new trace that *links* to the incoming
   * one, and incoming baggage is dropped: use it at a public edge.
   * @default true
   */
  trustIncoming?: boolean | ((req: IncomingMessage) => boolean);
  /**
   * Header to read the request id from (a new UUID when absent or malformed)
   * and to echo it in the response; `false` turns request ids off.
   * @default 'x-request-id'
   */
  requestIdHeader?: string | false;
  /** Extra attributes for the server span, computed from the request. Errors are logged, never thrown. */
  spanAttributes?: (req: IncomingMessage) => Attributes;
  /**
   * Answer every response with the W3C Trace Context `server-timing` metric
   * `trace;desc=00-<trace-id>-<span-id>-<flags>`, so a browser or caller can
   * find the server span. Fine for internal services and your own front-end;
   * leave it off at a public edge with untrusted clients (it reveals the
   * sampling decision and lets clients correlate requests).
   * @default false
   */
  serverTiming?: boolean;
}

/** The defaults of {@link TraceContextOptions}, merged as `{ ...TRACE_CONTEXT_DEFAULTS, ...options }`. */
export const TRACE_CONTEXT_DEFAULTS = {
  ignore: ['/health/live', '/health/ready', '/health/startup', '/metrics'],
  trustIncoming: true,
  requestIdHeader: 'x-request-id',
  serverTiming: false,
} as const satisfies TraceContextOptions;

export interface ResolvedTraceContextOptions {
  ignore: (req: IncomingMessage) => boolean;
  /** A boolean as given, not wrapped in a function: the request path then skips the call. */
  trustIncoming: boolean | ((req: IncomingMessage) => boolean);
  requestIdHeader: string | false;
  spanAttributes: ((req: IncomingMessage) => Attributes) | undefined;
  serverTiming: boolean;
}

// RFC 9110 §5.1: field-name = token; tchar = "!" / "#" / "$" / "%" / "&" /
// "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
// Anything else makes res.setHeader() throw on every request.
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function ignoreMatcher(value: unknown, probes: boolean): (req: IncomingMessage) => boolean {
  if (typeof value === 'function') return value as (req: IncomingMessage) => boolean;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || v instanceof RegExp)) {
    throw invalidOption('ignore', 'an array of paths (strings or RegExps) or a predicate function', value);
  }
  const exact = new Set(value.filter((v): v is string => typeof v === 'string'));
  const patterns = value.filter((v): v is RegExp => v instanceof RegExp);
  return (req) => {
    const path = pathOf(req);
    return exact.has(path) || patterns.some((re) => re.test(path)) || (probes && processState().probePaths.has(path));
  };
}

export function resolveTraceContextOptions(input: unknown): ResolvedTraceContextOptions {
  const raw = expectOptionsObject('options', input);
  rejectUnknownKeys('traceContext', raw, ['ignore', 'trustIncoming', 'requestIdHeader', 'spanAttributes', 'serverTiming']);
  const o = { ...TRACE_CONTEXT_DEFAULTS, ...raw } as Record<string, unknown>;

  const trust = o['trustIncoming'];
  let trustIncoming: boolean | ((req: IncomingMessage) => boolean);
  if (typeof trust === 'boolean') trustIncoming = trust;
  else if (typeof trust === 'function') trustIncoming = trust as (req: IncomingMessage) => boolean;
  else throw invalidOption('trustIncoming', 'a boolean or a function (req) => boolean', trust);

  const header = o['requestIdHeader'];
  let requestIdHeader: string | false = false;
  if (header !== false) {
    if (typeof header !== 'string' || !HTTP_TOKEN.test(header)) {
      throw invalidOption('requestIdHeader', 'an HTTP header name (RFC 9110 token: letters, digits and !#$%&\'*+-.^_`|~) or false', header);
    }
    requestIdHeader = header.toLowerCase();
  }
  const attrs = o['spanAttributes'];
  return {
    ignore: ignoreMatcher(o['ignore'], raw['ignore'] === undefined),
    trustIncoming,
    requestIdHeader,
    spanAttributes: attrs === undefined ? undefined : expectFunction('spanAttributes', attrs),
    serverTiming: expectBoolean('serverTiming', o['serverTiming']),
  };
}
