// Trap: a worker thread has its own AsyncLocalStorage and its own copy of
// @opentelemetry/api; nothing crosses postMessage unless you put it there. Run:
//   npx tsx examples/pitfalls/worker-thread.ts
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { injectContext, runWithContext, tryGetTraceContext } from 'throughline';

if (isMainThread) {
  const request = { traceparent: '00-dddddddddddddddddddddddddddddddd-dddddddddddddddd-01' };
  // Inside the request: put the context in the message.
  const message = runWithContext(request, () => ({ resize: 'photo.png', trace: injectContext() }), { span: false });
  // In production: new Worker(compiledFile, { workerData: message }). Under tsx the
  // worker starts from a bootstrap that registers tsx (Node 22 needs it).
  const worker = new Worker(new URL('./tsx-worker.mjs', import.meta.url), { argv: [import.meta.url], workerData: message });
  worker.once('message', (traceId: string) => {
    console.log(`worker saw ${traceId}`);
    if (traceId !== 'd'.repeat(32)) process.exitCode = 1;
    void worker.terminate();
  });
} else {
  const message = workerData as { resize: string; trace: Record<string, string> };
  // Inside the worker: continue the trace, in a CONSUMER span.
  runWithContext(message.trace, () => parentPort!.postMessage(tryGetTraceContext()?.traceId), {
    system: 'worker_threads',
    destination: 'images',
  });
}
