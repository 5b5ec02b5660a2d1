// Trap: a callback-style pool hands a released resource to the next waiter
// synchronously, inside the *releasing* request's context. Run:
//   npx tsx examples/pitfalls/shared-pool.ts
import { bindDetached, runWithContext, tryGetTraceContext } from 'throughline';

type Callback = (resource: string) => void;
const waiting: Callback[] = [];
const pool = {
  acquire: (cb: Callback) => waiting.push(cb), // the only connection is busy: wait
  release: (resource: string) => waiting.shift()?.(resource),
};

const requestA = { traceparent: '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaa-01' };
const requestB = { traceparent: '00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bbbbbbbbbbbbbbbb-01' };
const seen: string[] = [];

// Request A waits twice: once with a plain callback, once with a bound one.
runWithContext(requestA, () => {
  pool.acquire(() => seen.push(`plain callback saw ${tryGetTraceContext()?.traceId}`));
  pool.acquire(bindDetached(() => seen.push(`bound callback saw ${tryGetTraceContext()?.traceId}`)));
}, { span: false });

// Request B releases connections: the callbacks run inside B.
runWithContext(requestB, () => {
  pool.release('conn-1');
  pool.release('conn-1');
}, { span: false });

console.log(seen.join('\n'));
// plain callback saw bbbb… (request B's trace: a leak)
// bound callback saw aaaa… (request A's trace)
if (!seen[0]?.endsWith('b'.repeat(32)) || !seen[1]?.endsWith('a'.repeat(32))) process.exitCode = 1;
