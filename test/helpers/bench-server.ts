// Drives one bench/server.mjs variant in its own process, as `npm run bench`
// does: start it, ask for its counters, stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/server.mjs');

/** What a variant's server reports about itself. */
export interface BenchStats {
  rss: number;
  cpuUs: number;
  allocatedBytes?: number;
  spans?: number;
}

export async function startBenchServer(name: string): Promise<{ child: ChildProcess; base: string; expressVersion: string | undefined }> {
  // execArgv [] : plain Node.js on the .mjs files, without this suite's tsx loader.
  const child = fork(SERVER, [name], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [{ port: number; expressVersion?: string }];
  return { child, base: `http://127.0.0.1:${message.port}`, expressVersion: message.expressVersion };
}

export async function benchStats(child: ChildProcess): Promise<BenchStats> {
  child.send('stats');
  const [reply] = (await once(child, 'message')) as [{ stats: BenchStats }];
  return reply.stats;
}

export async function stopBenchServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.send('stop');
  await exited;
}
