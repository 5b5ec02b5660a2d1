// Starts a TypeScript worker entry under tsx on every supported Node:
//   new Worker(new URL('./tsx-worker.mjs', import.meta.url), { argv: [entry.href] })
// Node 24 workers inherit tsx's loader from `--import tsx`; Node 22 workers do
// not (ERR_UNKNOWN_FILE_EXTENSION), so register it in the worker first.
// Compiled JavaScript, as production runs, needs none of this.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
