import type { TraceState } from '@opentelemetry/api';

// W3C Trace Context, "tracestate Header Field Values". The key grammar is the
// one the specification's own conformance suite enforces at strict level 2:
// a simple key, or `tenant@system` with at most 241 + 14 characters.
const SIMPLE_KEY = '[a-z][_0-9a-z\\-*/]{0,255}';
const TENANT_KEY = '[0-9a-z][_0-9a-z\\-*/]{0,240}@[a-z][_0-9a-z\\-*/]{0,13}';
const KEY_RE = new RegExp(`^(?:${SIMPLE_KEY}|${TENANT_KEY})$`);
// Up to 256 printable ASCII characters except ',' and '=', not ending in a space.
const VALUE_RE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const OWS_COMMA = /[ \t]*,[ \t]*/;

/** The specification allows at most 32 list-members. */
export const MAX_TRACESTATE_MEMBERS = 32;
/** Vendors SHOULD propagate at least 512 characters of the combined header. */
export const MAX_TRACESTATE_LENGTH = 512;
/** Entries longer than this are the first to go when truncating. */
const LARGE_ENTRY = 128;

export function isValidTraceStateKey(key: string): boolean {
  return KEY_RE.test(key);
}

export function isValidTraceStateValue(value: string): boolean {
  return VALUE_RE.test(value);
}

/**
 * Parses a combined `tracestate` header. Returns `undefined` when the whole
 * header must be discarded: any member that breaks the key or value grammar,
 * a duplicated key, or more than 32 members (the conformance suite discards in
 * each case; OpenTelemetry's stock parser drops single members instead).
 * Empty and whitespace-only members are allowed and skipped.
 */
export function parseTraceState(header: string): TraceState | undefined {
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const raw of header.replace(/^[ \t]+|[ \t]+$/g, '').split(OWS_COMMA)) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    if (eq <= 0) return undefined;
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1);
    if (!KEY_RE.test(key) || !VALUE_RE.test(value) || seen.has(key)) return undefined;
    seen.add(key);
    entries.push([key, value]);
    if (entries.length > MAX_TRACESTATE_MEMBERS) return undefined;
  }
  return createTraceState(entries);
}

/**
 * An immutable, spec-conformant TraceState. `set` moves the key to the left
 * (the spec's mutation rule) and refuses invalid keys and values, leaving the
 * state unchanged; `serialize` truncates to 512 characters the spec's way:
 * whole entries, those over 128 characters first, then from the right.
 */
export function createTraceState(entries: readonly (readonly [string, string])[] = []): TraceState {
  const list = entries.slice(0, MAX_TRACESTATE_MEMBERS);
  return {
    get(key) {
      return list.find(([k]) => k === key)?.[1];
    },
    set(key, value) {
      if (!KEY_RE.test(key) || !VALUE_RE.test(value)) return this;
      return createTraceState([[key, value], ...list.filter(([k]) => k !== key)]);
    },
    unset(key) {
      return createTraceState(list.filter(([k]) => k !== key));
    },
    serialize() {
      return serializeEntries(list);
    },
  };
}

function serializeEntries(list: readonly (readonly [string, string])[]): string {
  let members = list.map(([k, v]) => `${k}=${v}`);
  const length = (m: string[]) => m.reduce((n, s) => n + s.length, 0) + Math.max(0, m.length - 1);
  if (length(members) <= MAX_TRACESTATE_LENGTH) return members.join(',');
  members = members.filter((m) => m.length <= LARGE_ENTRY);
  while (length(members) > MAX_TRACESTATE_LENGTH) members.pop();
  return members.join(',');
}
