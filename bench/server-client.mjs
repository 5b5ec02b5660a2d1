// Starts one bench variant's server (bench/server.mjs) as a child process and
// talks to it over IPC: the port it listens on, its CPU and allocation
// counters ('stats'), and a clean stop. Shared by bench/run.mjs, bench/gc.mjs
// and the bench's tests (test/helpers/bench-server.ts), so all start, pin and
// read a server the same way.
import { fork } from 'node:child_process';
import { once } from 'node:events';

const SERVER = new URL('./server.mjs', import.meta.url);
export const URL_PATH = '/users/42';
/** A valid, sampled traceparent, as a calling service sends it. */
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
/**
 * autocannon `requests` for load in which every other request continues a
 * trace and the others start one (each connection cycles through them), so
 * both paths are measured: what traffic between services looks like.
 */
export const HALF_TRACED = [{ headers: { traceparent: TRACEPARENT } }, {}];

/**
 * @param {string} name the variant's name (bench/variants/index.mjs)
 * @param {{ pin?: boolean, nodeArgs?: string[], stdout?: 'inherit' | 'pipe' }} [options]
 *   pin: run the server on core 0 with `taskset` (default false); nodeArgs: extra
 *   node flags such as `--cpu-prof` or `--trace-gc-nvp` (default none); stdout:
 *   'pipe' to read the server's output from `child.stdout` (default 'inherit').
 */
export async function startServer(name, { pin = false, nodeArgs = [], stdout = 'inherit' } = {}) {
  const stdio = ['ignore', stdout, 'inherit', 'ipc'];
  // Pinned: `taskset -c 0 node … server.mjs <variant>`; the IPC channel survives the exec.
  const child = pin
    ? fork(SERVER, [name], { execPath: 'taskset', execArgv: ['-c', '0', process.execPath, ...nodeArgs], stdio })
    : fork(SERVER, [name], { execPath: process.execPath, execArgv: nodeArgs, stdio });
  const [message] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${name}: server exited with ${code} before listening`);
    }),
  ]);
  return {
    child,
    port: message.port,
    url: `http://127.0.0.1:${message.port}${URL_PATH}`,
    /** The Express version the variant runs on, or undefined for one that imports its own. */
    expressVersion: message.expressVersion,
    async stats() {
      child.send('stats');
      for (;;) {
        const [reply] = await once(child, 'message');
        if (reply.stats) return reply.stats;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send('stop');
      await exited;
    },
  };
}
