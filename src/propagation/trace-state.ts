import type { TraceState } from '@opentelemetry/api';
import { skipOwsBackward } from './ows.js';

// W3C Trace Context, "tracestate Header Field Values" (the current text, which
// replaced the `tenant@system` multi-tenant grammar):
//   key      = ( lcalpha / DIGIT ) 0*255 ( keychar )
//   keychar  = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
// so `foo@`, `foo@@bar` and `1@a@b` are keys, `@foo` is not.
const KEY_RE = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
//   value    = 0*255(chr) nblk-chr
//   chr      = %x20 / nblk-chr
//   nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
// Up to 256 printable ASCII characters except ',' and '=', not ending in a space.
const VALUE_RE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** The specification allows at most 32 list-members. */
export const MAX_TRACESTATE_MEMBERS = 32;
/** Vendors SHOULD propagate at least 512 characters of the combined header. */
export const MAX_TRACESTATE_LENGTH = 512;
/**
 * A combined `tracestate` header longer than this is dropped unread (the
 * trace itself continues). It is room for all 32 list-members at 255
 * characters each plus their commas (32 x 256), 16 times the 512 characters
 * that are propagated; only OWS padding or members over the limits could make
 * a header longer, and the same 8192 bounds a whole `baggage` header (W3C
 * Baggage, "Limits"). Node's default `maxHeaderSize` is 16 KiB for all headers.
 */
export const MAX_TRACESTATE_HEADER_LENGTH = 8192;
// key (256) + "=" + value (256): a longer member is invalid without looking inside.
const MAX_MEMBER_LENGTH = 513;
/** Entries longer than this are the first to go when truncating. */
const LARGE_ENTRY = 128;

export function isValidTraceStateKey(key: string): boolean {
  return KEY_RE.test(key);
}

export function isValidTraceStateValue(value: string): boolean {
  return VALUE_RE.test(value);
}

/**
 * The list-members of a combined `tracestate` header, in order, or
 * `undefined` when the whole header must be discarded: longer than
 * {@link MAX_TRACESTATE_HEADER_LENGTH}, any member that breaks the key or
 * value grammar, or more than 32 distinct keys. A duplicated key keeps its
 * first (leftmost, most recent) occurrence and the later ones are dropped: the
 * specification allows only one entry per key and lets vendors discard
 * duplicates, and the leftmost entry is the one its vendor wrote last. Empty
 * and whitespace-only members are skipped. One pass over the header: the cost
 * is linear in its length (bench/headers.mjs).
 */
export function parseTraceStateEntries(header: string): [string, string][] | undefined {
  if (header.length > MAX_TRACESTATE_HEADER_LENGTH) return undefined;
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  const length = header.length;
  let at = 0;
  while (at < length) {
    // Empty and whitespace-only members ("Spaces and horizontal tabs surrounding
    // list-members are ignored") are skipped a character at a time: 8,000
    // commas cost 22 µs so, 83 µs with one indexOf() per member (bench/headers.mjs).
    const code = header.charCodeAt(at);
    if (code === 0x2c || code === 0x20 || code === 0x09) {
      at++;
      continue;
    }
    const comma = header.indexOf(',', at);
    const end = comma === -1 ? length : comma;
    const from = at;
    const to = skipOwsBackward(header, from, end);
    at = end + 1;
    if (to - from > MAX_MEMBER_LENGTH) return undefined;
    const eq = header.indexOf('=', from);
    if (eq === -1 || eq >= to || eq === from) return undefined;
    const key = header.slice(from, eq);
    const value = header.slice(eq + 1, to);
    if (!KEY_RE.test(key) || !VALUE_RE.test(value)) return undefined;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push([key, value]);
    if (entries.length > MAX_TRACESTATE_MEMBERS) return undefined;
  }
  return entries;
}

/**
 * Parses a combined `tracestate` header (several header fields joined with
 * commas). Returns `undefined` when the whole header must be discarded: longer
 * than 8192 characters, any member that breaks the key or value grammar, or
 * more than 32 members. A duplicated key keeps its first occurrence (the later
 * ones are dropped, the rest of the header is kept). Empty and
 * whitespace-only members are allowed and skipped. Never throws; linear in
 * the header's length.
 *
 * @example
 * parseTraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')?.get('congo'); // 't61rcWkgMzE'
 */
export function parseTraceState(header: string): TraceState | undefined {
  const entries = parseTraceStateEntries(header);
  return entries === undefined ? undefined : createTraceState(entries);
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
