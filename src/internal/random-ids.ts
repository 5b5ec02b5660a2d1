// Trace and span ids for requests nobody records (no tracer provider): they
// only have to be random and valid so logs and outbound calls correlate.
// Two randomBytes() calls per request were the largest single cost of
// traceContext() in that mode; slicing a pooled buffer refilled with
// randomFillSync every few hundred ids is what crypto.randomUUID() does too.
// The pool lives in the process state (src/internal/state.ts).
import { randomFillSync } from 'node:crypto';
import { processState } from './state.js';

function take(bytes: number): string {
  const pool = processState().idPool;
  for (;;) {
    if (pool.offset + bytes > pool.bytes.length) {
      randomFillSync(pool.bytes);
      pool.offset = 0;
    }
    const start = pool.offset;
    pool.offset += bytes;
    // An all-zero id is invalid (W3C Trace Context 3.2.2.3, 3.2.2.4): draw again.
    for (let i = start; i < start + bytes; i++) if (pool.bytes[i] !== 0) return pool.bytes.toString('hex', start, start + bytes);
  }
}

/** 32 lowercase hex characters, never all zero. */
export function randomTraceId(): string {
  return take(16);
}

/** 16 lowercase hex characters, never all zero. */
export function randomSpanId(): string {
  return take(8);
}
