// The statistics that give npm run bench its verdicts (bench/stats.mjs): a
// wrong interval would call a target met or not met on noise.
import assert from 'node:assert/strict';
import { median, medianInterval } from '../../../bench/stats.mjs';

describe('bench statistics', function () {
  it('median: the middle value, or the mean of the middle two', function () {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([-7.5]), -7.5);
  });

  it('medianInterval: the order statistics of the binomial 95 % interval, whatever the input order', function () {
    const ranks = (n: number) => [...Array(n).keys()].map((i) => n - i); // n … 1, reversed on purpose
    // k is the largest with P(Binomial(n, 1/2) < k) <= 2.5 %: n = 6 → 1 (1/64), 10 → 2 (11/1024), 20 → 6 (0.0207), 40 → 14 (0.0192).
    assert.deepEqual(medianInterval(ranks(6)), [1, 6]);
    assert.deepEqual(medianInterval(ranks(10)), [2, 9]);
    assert.deepEqual(medianInterval(ranks(20)), [6, 15]);
    assert.deepEqual(medianInterval(ranks(40)), [14, 27]);
  });

  it('medianInterval: none below 6 values, where even the extremes are not a 95 % interval', function () {
    assert.equal(medianInterval([1, 2, 3, 4, 5]), undefined);
    assert.equal(medianInterval([]), undefined);
  });
});
