// Property-based tests of the header parsers: on generated inputs (valid,
// near-valid, random, and long runs of whitespace and commas around the
// length limits) parseTraceparent() and parseTraceState() agree with small
// reference parsers written here straight from the specification's ABNF, the
// baggage bound agrees with @opentelemetry/core inside the W3C limits, and no
// input makes anything throw. fast-check prints the seed and the shrunk
// counterexample of a failure; replay it with { seed, path } in fc.assert.
import { ROOT_CONTEXT, propagation, type TextMapGetter, type TextMapPropagator } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { createDefaultPropagator, createTraceState, parseTraceparent, parseTraceState } from '../../src/index.js';
import { boundBaggage, MAX_BAGGAGE_LENGTH, MAX_BAGGAGE_MEMBERS } from '../../src/propagation/propagator.js';
import { parseTraceStateEntries } from '../../src/propagation/trace-state.js';

const RUNS = 2_000;

// ---- reference parsers: slow, plain, one rule per line ----

const isOws = (c: string) => c === ' ' || c === '\t';
function refTrim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isOws(s[a]!)) a++;
  while (b > a && isOws(s[b - 1]!)) b--;
  return s.slice(a, b);
}
const isLowerHex = (s: string) => [...s].every((c) => '0123456789abcdef'.includes(c));
const allZero = (s: string) => [...s].every((c) => c === '0');

/** traceparent = version "-" trace-id "-" parent-id "-" trace-flags, by the processing rules. */
function refTraceparent(header: string) {
  if (header.length > 512) return undefined;
  const v = refTrim(header);
  const version = v.slice(0, 2);
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  const rest = v.slice(55);
  if (version.length !== 2 || !isLowerHex(version) || version === 'ff') return undefined;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return undefined;
  if (traceId.length !== 32 || !isLowerHex(traceId) || allZero(traceId)) return undefined;
  if (parentId.length !== 16 || !isLowerHex(parentId) || allZero(parentId)) return undefined;
  if (flags.length !== 2 || !isLowerHex(flags)) return undefined;
  // Version 00 ends here; a future version may go on after a dash.
  if (version === '00' ? rest !== '' : rest !== '' && !rest.startsWith('-')) return undefined;
  return { version, traceId, parentId, traceFlags: parseInt(flags, 16) };
}

const lcalpha = (c: string) => c >= 'a' && c <= 'z';
const digit = (c: string) => c >= '0' && c <= '9';
// keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
const keychar = (c: string) => lcalpha(c) || digit(c) || '_-*/@'.includes(c);
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E ; chr = %x20 / nblk-chr
const nblkChr = (c: string) => {
  const n = c.charCodeAt(0);
  return (n >= 0x21 && n <= 0x2b) || (n >= 0x2d && n <= 0x3c) || (n >= 0x3e && n <= 0x7e);
};
const chr = (c: string) => c === ' ' || nblkChr(c);
// key = ( lcalpha / DIGIT ) 0*255 ( keychar )
const refKey = (k: string) => k.length >= 1 && k.length <= 256 && (lcalpha(k[0]!) || digit(k[0]!)) && [...k].every(keychar);
// value = 0*255(chr) nblk-chr
const refValue = (v: string) => v.length >= 1 && v.length <= 256 && [...v.slice(0, -1)].every(chr) && nblkChr(v.at(-1)!);

/** The list-members of a combined tracestate, by the rules throughline documents. */
function refTraceState(header: string): [string, string][] | undefined {
  if (header.length > 8192) return undefined;
  const kept: [string, string][] = [];
  for (const raw of header.split(',')) {
    const member = refTrim(raw);
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq === -1) return undefined;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!refKey(key) || !refValue(value)) return undefined;
    if (!kept.some(([k]) => k === key)) kept.push([key, value]);
  }
  return kept.length > 32 ? undefined : kept;
}

// ---- generators ----

const hexString = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const ows = (max: number) => fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: max });
// Characters the parsers treat specially, and some they must refuse.
const NEAR = [...'0123456789abcdefABCDEFgz-_*/@=,. \t;', '\n', '\r', '\u00e9', '\u00a0', '\x7f', '\x00', 'ÿ'];

/** Insert, delete or replace characters of `s`, at most `max` edits. */
const mutated = (base: fc.Arbitrary<string>, max = 3) =>
  fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.constantFrom(...NEAR)), { maxLength: max })).map(([s, edits]) => {
    let out = s;
    for (const [at, op, c] of edits) {
      const i = out.length === 0 ? 0 : at % (out.length + 1);
      out = op === 0 ? out.slice(0, i) + c + out.slice(i) : op === 1 ? out.slice(0, i) + out.slice(i + 1) : out.slice(0, i) + c + out.slice(i + 1);
    }
    return out;
  });

const validTraceparent = fc
  .tuple(
    fc.oneof(fc.constant('00'), hexString(2)),
    fc.oneof({ weight: 5, arbitrary: hexString(32) }, { weight: 1, arbitrary: fc.constant('0'.repeat(32)) }),
    fc.oneof({ weight: 5, arbitrary: hexString(16) }, { weight: 1, arbitrary: fc.constant('0'.repeat(16)) }),
    hexString(2),
    fc.oneof(fc.constant(''), fc.string({ maxLength: 20 }).map((s) => `-${s}`), fc.string({ maxLength: 3 })),
  )
  .map(([v, t, p, f, rest]) => `${v}-${t}-${p}-${f}${rest}`);

const traceparentInput = fc.oneof(
  validTraceparent,
  fc.tuple(ows(5), validTraceparent, ows(5)).map((parts) => parts.join('')),
  mutated(validTraceparent),
  // Around the 512-character limit: OWS padding or a long future-version tail.
  fc.tuple(fc.integer({ min: 440, max: 470 }), validTraceparent).map(([n, v]) => ' '.repeat(n) + v),
  fc.tuple(fc.integer({ min: 440, max: 470 }), validTraceparent).map(([n, v]) => `cc${v.slice(2, 55)}-${'x'.repeat(n)}`),
  fc.string({ unit: fc.constantFrom(...NEAR), maxLength: 80 }),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

const validKey = fc.stringMatching(/^[a-z0-9][a-z0-9_\-*/@]{0,12}$/);
const nearKey = fc.oneof(validKey, mutated(validKey, 2), fc.constantFrom('a', 'b', 'foo@', '0@@x', '@a', 'A', ''));
const validValue = fc.stringMatching(/^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,10}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/);
const nearValue = fc.oneof(validValue, mutated(validValue, 2), fc.constantFrom('', ' ', 'a b', ' 1', 'x=y', 'v '));
const separator = fc.oneof(fc.constantFrom(',', ', ', ' ,', ',,', ' \t, \t', ', ,'), ows(3).map((s) => `${s},${s}`));

const traceStateFrom = (key: fc.Arbitrary<string>, value: fc.Arbitrary<string>, maxMembers: number, minMembers = 0) =>
  fc
    .tuple(fc.array(fc.tuple(key, value), { minLength: minMembers, maxLength: maxMembers }), fc.array(separator, { minLength: maxMembers, maxLength: maxMembers }), ows(3), ows(3))
    .map(([members, seps, lead, trail]) => lead + members.map(([k, v], i) => (i === 0 ? '' : seps[i]!) + `${k}=${v}`).join('') + trail);

const traceStateInput = fc.oneof(
  traceStateFrom(validKey, validValue, 8),
  // Duplicates: keys from a pool of four.
  traceStateFrom(fc.constantFrom('a', 'b', 'foo@', 'x/y'), validValue, 12),
  traceStateFrom(nearKey, nearValue, 8),
  // Around the member limit (32) and the length limit (8192).
  traceStateFrom(validKey, validValue, 36, 28),
  fc.tuple(fc.integer({ min: 8150, max: 8200 }), traceStateFrom(validKey, validValue, 3)).map(([n, s]) => `${s},${' '.repeat(Math.max(0, n - s.length - 4))},a=1`),
  fc.tuple(fc.integer({ min: 0, max: 9000 }), fc.constantFrom(' ', ',', ' , ', '\t')).map(([n, c]) => `k=1${c.repeat(n)}`),
  mutated(traceStateFrom(validKey, validValue, 4), 4),
  fc.string({ unit: fc.constantFrom(...NEAR), maxLength: 60 }),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

// ---- properties ----

describe('header parsers, property-based', () => {
  it('parseTraceparent() agrees with the reference parser on valid, near-valid and random input', () => {
    fc.assert(
      fc.property(traceparentInput, (header) => {
        assert.deepEqual(parseTraceparent(header), refTraceparent(header));
      }),
      { numRuns: RUNS },
    );
  });

  it('the traceparent generator reaches both outcomes and both sides of the length limit', () => {
    const sample = fc.sample(traceparentInput, { numRuns: 3_000, seed: 42 });
    const valid = sample.filter((h) => refTraceparent(h) !== undefined);
    assert.ok(valid.length > 300 && sample.length - valid.length > 300, `${valid.length} of ${sample.length} valid`);
    assert.ok(sample.some((h) => h.length > 512 && refTrim(h).length === 55 && refTraceparent(refTrim(h)) !== undefined), 'valid but too long');
    assert.ok(valid.some((h) => h.length > 490), 'valid and near the limit');
  });

  it('parseTraceState() agrees with the reference parser: members, order, first of a duplicated key, discards', () => {
    fc.assert(
      fc.property(traceStateInput, (header) => {
        const expected = refTraceState(header);
        assert.deepEqual(parseTraceStateEntries(header), expected);
        const state = parseTraceState(header);
        assert.equal(state === undefined, expected === undefined);
        for (const [k, v] of expected ?? []) assert.equal(state?.get(k), v);
      }),
      { numRuns: RUNS },
    );
  });

  it('the tracestate generator reaches kept headers, discarded ones, duplicates and both sides of 32 members and 8192 characters', () => {
    const sample = fc.sample(traceStateInput, { numRuns: 3_000, seed: 42 });
    const kept = sample.filter((h) => refTraceState(h) !== undefined);
    assert.ok(kept.length > 300 && sample.length - kept.length > 300, `${kept.length} of ${sample.length} kept`);
    const members = (h: string) => h.split(',').filter((m) => refTrim(m) !== '').length;
    assert.ok(kept.some((h) => members(h) > (refTraceState(h)?.length ?? 0)), 'a kept header with a dropped duplicate');
    assert.ok(kept.some((h) => refTraceState(h)!.length >= 25), 'many members kept');
    const distinctKeys = (h: string) => new Set(h.split(',').map((m) => refTrim(m).split('=')[0])).size;
    assert.ok(sample.some((h) => h.length <= 8192 && refTraceState(h) === undefined && distinctKeys(h) > 32), 'over 32 members');
    assert.ok(kept.some((h) => distinctKeys(h) === 32), 'exactly 32 members');
    assert.ok(kept.some((h) => h.length > 8100), 'kept near 8192');
    assert.ok(sample.some((h) => h.length > 8192 && refTraceState(h.slice(0, 8192)) !== undefined), 'over 8192, otherwise valid');
  });

  it('a parsed tracestate serializes to at most 512 characters that parse back to a prefix of the same members', () => {
    fc.assert(
      fc.property(traceStateInput, (header) => {
        const state = parseTraceState(header);
        if (state === undefined) return;
        const out = state.serialize();
        assert.ok(out.length <= 512);
        const again = parseTraceStateEntries(out)!;
        const all = parseTraceStateEntries(header)!;
        assert.ok(again.every(([k, v]) => all.some(([k2, v2]) => k === k2 && v === v2)));
        if (all.reduce((n, [k, v]) => n + k.length + v.length + 2, -1) <= 512) assert.deepEqual(again, all);
        assert.equal(createTraceState(again).serialize(), out);
      }),
      { numRuns: RUNS },
    );
  });

  const baggageInput = fc.oneof(
    fc.array(fc.tuple(fc.stringMatching(/^[a-zA-Z0-9%_-]{1,8}$/), fc.stringMatching(/^[a-zA-Z0-9%; =_-]{0,12}$/)), { maxLength: 250 }).map((ms) =>
      ms.map(([k, v]) => `${k}=${v}`).join(','),
    ),
    fc.tuple(fc.integer({ min: 0, max: 12_000 }), fc.constantFrom(',', ' ', 'a=1,', 'a=1;p,', ',,=')).map(([n, c]) => c.repeat(Math.ceil(n / c.length))),
    fc.tuple(fc.integer({ min: 8000, max: 8300 }), fc.nat(20)).map(([n, k]) => `${'x'.repeat(n - k)},k=${'v'.repeat(k)},last=1`),
    fc.string({ unit: fc.constantFrom(...NEAR, '%', ';'), maxLength: 60 }),
  );
  const getter: TextMapGetter<Record<string, string>> = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };
  const entries = (header: string, propagator: TextMapPropagator) =>
    propagation
      .getBaggage(propagator.extract(ROOT_CONTEXT, { baggage: header }, getter))
      ?.getAllEntries()
      .map(([k, v]) => [k, v.value, v.metadata?.toString()]);

  it('boundBaggage() keeps the longest prefix of whole members inside 8192 characters and 180 members', () => {
    fc.assert(
      fc.property(baggageInput, (header) => {
        const cut = boundBaggage(header);
        const members = (s: string) => s.split(',').length;
        assert.ok(header.startsWith(cut));
        assert.ok(cut.length <= MAX_BAGGAGE_LENGTH && members(cut) <= MAX_BAGGAGE_MEMBERS);
        if (header.length <= MAX_BAGGAGE_LENGTH && members(header) <= MAX_BAGGAGE_MEMBERS) assert.equal(cut, header);
        else {
          // Cut at a comma, and one more member would break a limit.
          assert.ok(cut === '' || header[cut.length] === ',');
          const next = header.indexOf(',', cut.length + 1);
          const longer = next === -1 ? header : header.slice(0, next);
          assert.ok(longer.length > MAX_BAGGAGE_LENGTH || members(longer) > MAX_BAGGAGE_MEMBERS || cut === '');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('inside the limits, the default propagator extracts exactly what @opentelemetry/core does', () => {
    const core = new W3CBaggagePropagator();
    const ours = createDefaultPropagator();
    fc.assert(
      fc.property(baggageInput, (header) => {
        fc.pre(header.length <= MAX_BAGGAGE_LENGTH && header.split(',').length <= MAX_BAGGAGE_MEMBERS);
        assert.deepEqual(entries(header, ours), entries(header, core));
      }),
      { numRuns: RUNS },
    );
  });

  it('no input throws: traceparent, tracestate and baggage through the default propagator, any string, repeated fields', () => {
    const propagator = createDefaultPropagator();
    const anyHeader = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), traceparentInput, traceStateInput, baggageInput);
    const field = fc.oneof(anyHeader, fc.array(anyHeader, { maxLength: 3 }), fc.constant(undefined));
    const any: TextMapGetter<Record<string, unknown>> = { get: (c, k) => c[k] as string | string[] | undefined, keys: (c) => Object.keys(c) };
    fc.assert(
      fc.property(field, field, field, (traceparent, tracestate, baggage) => {
        parseTraceparent(String(traceparent));
        parseTraceState(String(tracestate));
        const ctx = propagator.extract(ROOT_CONTEXT, { traceparent, tracestate, baggage }, any);
        const carrier: Record<string, string> = {};
        propagator.inject(ctx, carrier, { set: (c, k, v) => (c[k] = v) });
      }),
      { numRuns: RUNS },
    );
  });
});
