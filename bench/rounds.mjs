// The round logic of npm run bench (bench/run.mjs) that decides what a
// measurement is worth: measuring a round or a pair of slices again while
// another process here took a share of a core, and turning a target's
// interval into met, not met or "cannot tell". Kept apart from the script,
// which starts servers and drives load, so it is tested
// (test/unit/bench/rounds.test.ts): a wrong retry or verdict would call a
// target met or not met on noise.
import { verdict } from './stats.mjs';

/** `+1.2` / `-0.4`: a signed µs figure as the bench prints it. */
export const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

/**
 * Calls `attempt()` until one's `other` (cores another process took during it)
 * is at most `noise`, at most `retries` times more than once, and keeps the
 * quietest. An attempt whose `other` is undefined (no /proc/stat) cannot be
 * judged and is kept as it is.
 * @template {{ other?: number | undefined }} T
 * @param {() => Promise<T>} attempt
 * @param {{ retries: number, noise: number }} limits
 * @returns {Promise<{ best: T, attempts: number }>}
 */
export async function leastNoisy(attempt, { retries, noise }) {
  let best;
  let attempts = 0;
  while (attempts <= retries) {
    const run = await attempt();
    attempts++;
    if (best === undefined || (run.other ?? 0) < (best.other ?? 0)) best = run;
    if (run.other === undefined || run.other <= noise) break;
  }
  return { best, attempts };
}

/**
 * The verdict of a judged target, or why the run cannot give one: more than
 * half its pairs above the noise limit (when `noiseOf`, the paired
 * measurement, is given), too few blocks for an interval, or an interval
 * that spans the limit (bench/stats.mjs verdict()). `result` is the target
 * (`kind`, `max` or `min`) with its `value` and 95 % `interval`, and the
 * `blocks` (CPU) or `ratioBlocks` (RSS, throughput) it came from.
 */
export function decide(result, noiseOf) {
  if (noiseOf !== undefined && noiseOf.noisy * 2 > noiseOf.diffs.length) return { ...result, met: undefined, noisy: `${noiseOf.noisy} of ${noiseOf.diffs.length} pairs above the noise limit` };
  if (result.interval === undefined) return { ...result, met: undefined, noisy: `${(result.blocks ?? result.ratioBlocks).length} blocks are too few for an interval` };
  const met = verdict(result.interval, result);
  const limit = result.kind === 'cpu' ? `${signed(result.max)} µs` : `${result.max ?? result.min} ×`;
  return met === undefined ? { ...result, met, noisy: `the interval spans the limit of ${limit}` } : { ...result, met };
}
