// One variant's server, in a process of its own so its RSS and CPU profile are
// its own. Usage (forked with an IPC channel): server.mjs <variant>
// Parent -> child messages: 'stats' (answers { rss, cpuUs, spans }), 'stop' (exits).
// Child -> parent: { ready: true, port } once listening on 127.0.0.1.
import { VARIANTS } from './variants/index.mjs';

const name = process.argv[2];
const variant = VARIANTS.find((v) => v.name === name);
if (!variant || !process.send) {
  console.error(`usage: fork server.mjs <${VARIANTS.map((v) => v.name).join('|')}>`);
  process.exit(2);
}

const { server, spans } = await (await variant.load()).start();
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.send({ ready: true, port: server.address().port });
});

process.on('message', async (message) => {
  if (message === 'stats') {
    const cpu = process.cpuUsage();
    process.send({ stats: { rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, spans: spans ? await spans() : undefined } });
  } else if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
// The parent going away must not leave a server behind.
process.on('disconnect', () => process.exit(0));
