// Counts the garbage collections V8 reports with --trace-gc-nvp, one
// `name=value` line per collection (`gc=s` a scavenge, `gc=mc` a full
// mark-compact), for bench/gc.mjs. Kept apart so its parsing is tested
// against the output of the Node.js lines the project runs on
// (test/unit/bench/gc-trace.test.ts): were V8 to rename a field, gc.mjs would
// otherwise print zero collections and look like a fix.

/**
 * The collection one --trace-gc-nvp line reports, or undefined for any other
 * line. `pauseMs` is the pause, `promoted` the bytes a scavenge moved to the
 * old generation (0 for a full collection).
 * @param {string} line
 * @returns {{ kind: 'scavenge' | 'full', pauseMs: number, promoted: number } | undefined}
 */
export function gcOf(line) {
  const kind = / gc=(s|mc) /.exec(line)?.[1];
  if (kind === undefined) return undefined;
  const field = (key) => Number(new RegExp(` ${key}=([\\d.]+)`).exec(line)?.[1] ?? 0);
  return kind === 'mc' ? { kind: 'full', pauseMs: field('pause'), promoted: 0 } : { kind: 'scavenge', pauseMs: field('pause'), promoted: field('promoted') };
}

/**
 * Totals of the collections in a stream of --trace-gc-nvp output, counted
 * only while `counting` is true. Feed it the child's stdout chunks as they
 * come: a line may be split across chunks.
 */
export function createGcCounter() {
  const scavenges = { count: 0, pauseMs: 0, promoted: 0 };
  const full = { count: 0, pauseMs: 0 };
  let pending = '';
  const counter = {
    counting: false,
    scavenges,
    full,
    /** @param {string | Buffer} chunk */
    feed(chunk) {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const gc = gcOf(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (!counter.counting || gc === undefined) continue;
        const into = gc.kind === 'full' ? full : scavenges;
        into.count++;
        into.pauseMs += gc.pauseMs;
        if (gc.kind === 'scavenge') scavenges.promoted += gc.promoted;
      }
    },
  };
  return counter;
}
