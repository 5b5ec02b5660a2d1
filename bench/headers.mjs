// What one incoming trace header costs to parse, in CPU microseconds: normal
// headers next to hostile ones (16,000 spaces, thousands of commas, too many
// members), for the parsers before the linear rewrite (inlined below, labelled
// "before") and for the built library ("after").
//
// Run: npm run build && node bench/headers.mjs
// Each case runs in BENCH_ROUNDS rounds (default 5), before and after
// alternating; a round parses until it has used BENCH_MIN_MS of CPU (default
// 100) and at least 3 times. The figure is the median over the rounds of CPU
// time (process.cpuUsage, user + system) divided by the number of parses.
// Nothing else runs in this process, so CPU time is the parse's, whatever else
// the machine is doing (a busy shared host still slows every figure a little).
import { ROOT_CONTEXT, propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import {
  createDefaultPropagator,
  createW3CTraceContextPropagator,
  parseTraceparent,
  parseTraceState,
} from '../dist/src/index.js';

const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

// ---- before: the parsers as they were up to commit e802f47 (copied verbatim,
// minus the TraceState object, which both sides build the same way). ----
const OLD_HEX32 = /^[0-9a-f]{32}$/;
const OLD_HEX16 = /^[0-9a-f]{16}$/;
const OLD_HEX2 = /^[0-9a-f]{2}$/;
function oldParseTraceparent(header) {
  const value = header.replace(/^[ \t]+|[ \t]+$/g, '');
  const version = value.slice(0, 2);
  if (!OLD_HEX2.test(version) || version === 'ff' || value[2] !== '-') return undefined;
  if (version === '00' ? value.length !== 55 : value.length < 55 || (value.length > 55 && value[55] !== '-')) return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (value[35] !== '-' || value[52] !== '-') return undefined;
  if (!OLD_HEX32.test(traceId) || !OLD_HEX16.test(parentId) || !OLD_HEX2.test(flags)) return undefined;
  if (traceId === '0'.repeat(32) || parentId === '0'.repeat(16)) return undefined;
  return { version, traceId, parentId, traceFlags: parseInt(flags, 16) };
}
const OLD_KEY_RE = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[0-9a-z][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const OLD_VALUE_RE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
function oldParseTraceState(header) {
  const entries = [];
  const seen = new Set();
  for (const raw of header.replace(/^[ \t]+|[ \t]+$/g, '').split(/[ \t]*,[ \t]*/)) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    if (eq <= 0) return undefined;
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1);
    if (!OLD_KEY_RE.test(key) || !OLD_VALUE_RE.test(value) || seen.has(key)) return undefined;
    seen.add(key);
    entries.push([key, value]);
    if (entries.length > 32) return undefined;
  }
  return entries;
}
// Before, baggage went straight to @opentelemetry/core's parser.
const oldPropagator = new CompositePropagator({
  propagators: [createW3CTraceContextPropagator(), new W3CBaggagePropagator()],
});
const newPropagator = createDefaultPropagator();
const getter = { get: (carrier, key) => carrier[key], keys: (carrier) => Object.keys(carrier) };
const baggageOf = (p) => (header) => propagation.getBaggage(p.extract(ROOT_CONTEXT, { baggage: header }, getter))?.getAllEntries().length;

// ---- the headers ----
const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const SPACES = ' '.repeat(16_000);
const members = (n) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`).join(',');
const CASES = [
  ['traceparent', 'normal', VALID],
  ['traceparent', 'valid + 16,000 trailing spaces', VALID + SPACES],
  ['traceparent', '16,000 spaces inside', `00-${SPACES}x`],
  ['traceparent', 'future version + 16,000 chars', `cc-${VALID.slice(3)}${'-a'.repeat(8_000)}`],
  ['tracestate', 'normal (2 members)', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
  ['tracestate', '32 members', members(32)],
  ['tracestate', 'a=1 + 16,000 spaces + b', `a=1${SPACES}b`],
  ['tracestate', '16,000 spaces', SPACES],
  ['tracestate', '8,000 commas', ','.repeat(8_000)],
  ['tracestate', '" , " x 2,600 (8 KB)', 'a=1' + ' , '.repeat(2_600) + 'b=2'],
  ['tracestate', '1,000 members', members(1_000)],
  ['baggage', 'normal (2 members)', 'userId=alice,isProduction=false'],
  ['baggage', '180 members', members(180)],
  ['baggage', 'a=1 + 16,000 spaces + b=2', `a=1${SPACES}b=2`],
  ['baggage', '16,000 commas', ','.repeat(16_000)],
  ['baggage', '2,000 members (16 KB)', members(2_000)],
  ['baggage', '2,700 x "a=1;p" (16 KB)', 'a=1;p,'.repeat(2_700)],
];
const IMPLS = {
  traceparent: [oldParseTraceparent, parseTraceparent],
  tracestate: [oldParseTraceState, parseTraceState],
  baggage: [baggageOf(oldPropagator), baggageOf(newPropagator)],
};

function cpuMicros(fn, input) {
  for (let i = 0; i < 3; i++) fn(input);
  let runs = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (runs < 3 || used < MIN_MS * 1000) {
    fn(input);
    runs++;
    const d = process.cpuUsage(start);
    used = d.user + d.system;
  }
  return used / runs;
}

const fmt = (us) => (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2));
const rows = [];
for (const [header, what, input] of CASES) {
  const [before, after] = IMPLS[header];
  const b = [];
  const a = [];
  for (let r = 0; r < ROUNDS; r++) {
    b.push(cpuMicros(before, input));
    a.push(cpuMicros(after, input));
  }
  const median = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  rows.push(`| ${header} | ${what} | ${input.length.toLocaleString('en')} | ${fmt(median(b))} | ${fmt(median(a))} |`);
  console.error(rows.at(-1));
}
console.log(
  [
    `Node ${process.version}, CPU µs per parse, median of ${ROUNDS} rounds of >= ${MIN_MS} ms CPU each`,
    '',
    '| header | value | chars | before µs | after µs |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n'),
);
