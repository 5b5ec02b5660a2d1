// Counts the garbage collections V8 reports with --trace-gc-nvp, one line
// per collection (`gc=s` a scavenge, `gc=mc` a full mark-compact), for
// bench/gc.mjs. Kept apart so its parsing is tested
// against the output of the Node.js lines the project runs on
// (test/unit/bench/gc-trace.test.ts): were V8 to rename a field, gc.mjs would
// otherwise print zero collections and look like a fix. It did change: Node 26
// prints each line as JSON, which the first version of this parser read as no
// collection at all (the suite's Node 26 run caught it).

const JSON_MARK = 'GC: {';

/**
 * The collection one --trace-gc-nvp line reports, or undefined for any other
 * line. `pauseMs` is the pause, `promoted` the bytes a scavenge moved to the
 * old generation (0 for a full collection). Two formats: up to Node 24 (V8
 * 13) `… ms: pause=1.9 mutator=38.3 gc=s … promoted=399264 …`; from Node 26
 * (V8 14) `… ms: GC: {"pause":1.9,"gc":"s",…,"promoted":399264,…}`.
 * @param {string} line
 * @returns {{ kind: 'scavenge' | 'full', pauseMs: number, promoted: number } | undefined}
 */
export function gcOf(line) {
  const json = line.indexOf(JSON_MARK);
  const fields = json >= 0 ? jsonFields(line.slice(json + JSON_MARK.length - 1)) : nvpFields(line);
  if (fields === undefined || (fields.gc !== 's' && fields.gc !== 'mc')) return undefined;
  const pauseMs = Number(fields.pause ?? 0);
  return fields.gc === 'mc' ? { kind: 'full', pauseMs, promoted: 0 } : { kind: 'scavenge', pauseMs, promoted: Number(fields.promoted ?? 0) };
}

function jsonFields(text) {
  try {
    const fields = JSON.parse(text);
    return typeof fields === 'object' && fields !== null ? fields : undefined;
  } catch {
    return undefined;
  }
}

function nvpFields(line) {
  const gc = / gc=(\w+) /.exec(line)?.[1];
  if (gc === undefined) return undefined;
  const field = (key) => new RegExp(` ${key}=([\\d.]+)`).exec(line)?.[1];
  return { gc, pause: field('pause'), promoted: field('promoted') };
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
