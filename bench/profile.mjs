// Where a CPU profile's time goes, for `npm run bench -- --profile=<variant>`
// (bench/run.mjs). Self time by function says little about a middleware: what
// it costs is mostly Node's and the OpenTelemetry API's code it calls
// (AsyncLocalStorage frames, setHeader, randomUUID). So each busy sample is
// also given to its *owner*, the first frame up the stack that is the
// project's code (`dist/`), a bench variant's (`bench/`) or an npm package's;
// Node's internals and the OpenTelemetry API in between count for whoever
// called them. On Node 26 this put throughline context only and its floor at
// the same time of their own (medians of five profiles each, 7.2 against
// 7.3 µs a request, profiled at 100 µs; bench/findings.md, 2026-12-03,
// afternoon), where the clock had left up to 4 µs unattributed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// V8's pseudo-frames: their time is V8's, not any caller's.
const INTERNAL = new Set(['(program)', '(garbage collector)', '(root)']);
// The context plumbing a middleware calls for `context.with()`: its time is the caller's.
const CALLERS = new Set(['@opentelemetry/api', '@opentelemetry/context-async-hooks']);
const LOADER = 'node:internal/modules/';
// The last one in a path: a package's own dependency is its own owner.
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/**
 * Who owns a frame's code, or undefined for Node's internals, V8's natives,
 * `@opentelemetry/api` and its context manager (which a middleware calls for
 * its context), whose time goes to the caller.
 * @param {string} url a profile frame's url
 * @param {string} root the project's folder
 */
export function ownerOf(url, root) {
  if (!url.startsWith('file:')) return undefined;
  const file = fileURLToPath(url);
  const modules = file.lastIndexOf(NODE_MODULES);
  if (modules >= 0) {
    const [scope, name] = file.slice(modules + NODE_MODULES.length).split(path.sep);
    const pkg = scope.startsWith('@') ? `${scope}/${name}` : scope;
    return CALLERS.has(pkg) ? undefined : pkg;
  }
  const rel = path.relative(root, file);
  if (rel.startsWith(`dist${path.sep}`)) return 'throughline';
  if (rel.startsWith(`bench${path.sep}`)) return 'bench';
  return undefined;
}

/**
 * A `.cpuprofile`'s busy time (idle left out) by function (self time) and by
 * owner (ownerOf(), or the function's name for V8's `(program)` and
 * `(garbage collector)`, `node` for Node's own work no package called, and
 * `(module loading)` for anything under Node's module loader: the server's
 * start, which is in the profile but not in any request),
 * each as [name, µs] sorted by time, largest first.
 * @param {{ nodes: { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }[], samples: number[], timeDeltas: number[] }} profile
 * @param {string} root the project's folder
 */
export function profileTime(profile, root) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // timeDeltas[i] is the time from sample i - 1 to sample i: the time sample i - 1 stood for.
  const selfUs = new Map();
  for (let i = 0; i + 1 < profile.samples.length; i++) selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + profile.timeDeltas[i + 1]);
  const fns = new Map();
  const owners = new Map();
  const owned = new Map(); // node id -> owner, memoised up the stack
  const loading = new Map(); // node id -> under the module loader
  const underLoader = (id) => {
    if (!loading.has(id)) loading.set(id, byId.get(id).callFrame.url.startsWith(LOADER) || (parent.has(id) && underLoader(parent.get(id))));
    return loading.get(id);
  };
  const ownerUp = (id) => {
    if (owned.has(id)) return owned.get(id);
    const node = byId.get(id);
    const own = ownerOf(node.callFrame.url, root) ?? (parent.has(id) ? ownerUp(parent.get(id)) : 'node');
    owned.set(id, own);
    return own;
  };
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id).callFrame;
    if (f.functionName === '(idle)') continue;
    busyUs += us;
    const file = f.url.startsWith('file:') ? path.relative(root, fileURLToPath(f.url)) : f.url;
    const fn = `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const owner = underLoader(id) ? '(module loading)' : INTERNAL.has(f.functionName) ? (f.functionName === '(root)' ? 'node' : f.functionName) : ownerUp(id);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { busyUs, self: sorted(fns), owners: sorted(owners) };
}
