// One variant's server, in a process of its own so its RSS and CPU profile are
// its own. Usage (forked with an IPC channel): server.mjs <variant>
// Parent -> child messages: 'stats' (answers { rss, cpuUs, systemUs, allocatedBytes, spans }), 'stop' (exits).
// Child -> parent: { ready: true, port, expressVersion } once listening on 127.0.0.1.
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { expressFor, VARIANTS } from './variants/index.mjs';

// Bytes allocated on the JS heap since start: what is in use now, plus what
// every garbage collection since start freed (V8's own before/after figures
// for each GC, from GCProfiler). Every byte allocated is either still in use or
// was collected, so the sum is exact for the JS heap; Buffers' backing stores
// (external memory) are not in it. The 'stats' message itself allocates a few
// KB, nothing next to a round's 100,000 requests.
const heapAtStart = getHeapStatistics().used_heap_size;
let freed = 0;
let profiler = new GCProfiler();
profiler.start();

function allocatedBytes() {
  for (const gc of profiler.stop()?.statistics ?? []) freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  profiler = new GCProfiler();
  profiler.start();
  return freed + getHeapStatistics().used_heap_size - heapAtStart;
}

const name = process.argv[2];
const variant = VARIANTS.find((v) => v.name === name);
if (!variant || !process.send) {
  console.error(`usage: fork server.mjs <${VARIANTS.map((v) => v.name).join('|')}>`);
  process.exit(2);
}

const { express, version: expressVersion } = await expressFor(variant);
const { server, spans } = await (await variant.load()).start(express === undefined ? { ...variant.options } : { ...variant.options, express });
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.send({ ready: true, port: server.address().port, expressVersion });
});

process.on('message', async (message) => {
  if (message === 'stats') {
    const cpu = process.cpuUsage();
    const allocated = allocatedBytes();
    process.send({
      stats: { rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, systemUs: cpu.system, allocatedBytes: allocated, spans: spans ? await spans() : undefined },
    });
  } else if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
// The parent going away must not leave a server behind.
process.on('disconnect', () => process.exit(0));
