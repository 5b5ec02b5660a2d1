// The statistics bench/run.mjs judges its targets with, in a module of their
// own so a unit test can check them (test/unit/bench/stats.test.ts).

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A distribution-free 95 % confidence interval for the median of `xs`: the
 * order statistics k and n + 1 − k, k the largest with P(Binomial(n, ½) < k) ≤ 2.5 %.
 * Undefined below 6 values, where no such k exists.
 */
export function medianInterval(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  let below = 0; // P(X < k)
  let k = 0;
  for (let j = 0, p = 0.5 ** n, c = 1; j < n; j++) {
    if (below + c * p > 0.025) break;
    below += c * p;
    k = j + 1;
    c = (c * (n - j)) / (j + 1);
  }
  return k === 0 ? undefined : [s[k - 1], s[n - k]];
}

/**
 * A target's verdict from the 95 % interval of its figure: `true` (met) when the
 * whole interval is within the limit, `false` (not met) when it is wholly past
 * it, `undefined` (the run cannot tell) when it spans the limit or there is no
 * interval. Give exactly one limit: `max` (CPU µs, RSS ×) or `min` (throughput ×).
 */
export function verdict(interval, { max, min }) {
  if ((max === undefined) === (min === undefined)) throw new TypeError(`verdict() needs exactly one of \`max\` and \`min\`, got max ${max} and min ${min}`);
  if (interval === undefined) return undefined;
  const [low, high] = interval;
  if (max !== undefined) return high <= max ? true : low > max ? false : undefined;
  return low >= min ? true : high < min ? false : undefined;
}
