import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The environment for a child process or worker thread with c8's coverage
 * collection off. A child (or worker) loads the TypeScript sources through its own tsx instance, and c8 merges
 * its byte ranges wrongly into the test process's, wrecking the report for
 * files the child never ran. Node copies NODE_V8_COVERAGE into every child's
 * environment unless the key is present, so it is set to '' (off), not deleted.
 */
export function withoutCoverage(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...env, NODE_V8_COVERAGE: '' };
}

const TS_WORKER = new URL('../../examples/pitfalls/tsx-worker.mjs', import.meta.url);

/**
 * A real Worker running a TypeScript entry, with coverage off (see above).
 * It starts from a JavaScript bootstrap that registers tsx, because only
 * Node 24 lets a worker inherit the `--import tsx` loader; on Node 22 a `.ts`
 * entry fails with ERR_UNKNOWN_FILE_EXTENSION.
 */
export function tsWorker(entry: URL, options: Omit<WorkerOptions, 'argv' | 'env'> = {}): Worker {
  return new Worker(TS_WORKER, { ...options, argv: [entry.href], env: withoutCoverage(process.env) });
}
