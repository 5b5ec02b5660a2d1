// Trap: an EventEmitter created at startup calls every listener in the
// context of whoever calls emit(), not of the request that subscribed. Run:
//   npx tsx examples/pitfalls/shared-emitter.ts
import { EventEmitter } from 'node:events';
import { bindEmitter, runWithContext, tryGetTraceContext } from 'throughline';

const plainBus = new EventEmitter();
const boundBus = bindEmitter(new EventEmitter()); // once, at startup

const requestA = { traceparent: '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaa-01' };
const requestB = { traceparent: '00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bbbbbbbbbbbbbbbb-01' };
const seen: string[] = [];

runWithContext(requestA, () => {
  plainBus.once('reply', () => seen.push(`plain emitter listener saw ${tryGetTraceContext()?.traceId}`));
  boundBus.once('reply', () => seen.push(`bound emitter listener saw ${tryGetTraceContext()?.traceId}`));
}, { span: false });

runWithContext(requestB, () => {
  plainBus.emit('reply');
  boundBus.emit('reply');
}, { span: false });

console.log(seen.join('\n'));
if (!seen[0]?.endsWith('b'.repeat(32)) || !seen[1]?.endsWith('a'.repeat(32))) process.exitCode = 1;
