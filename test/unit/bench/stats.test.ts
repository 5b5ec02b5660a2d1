// The statistics that give npm run bench its verdicts (bench/stats.mjs): a
// wrong interval would call a target met or not met on noise.
import assert from 'node:assert/strict';
import { median, medianInterval, verdict } from '../../../bench/stats.mjs';

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

  it('verdict: met only when the whole interval is within an upper limit, not met only when wholly past it', function () {
    assert.equal(verdict([-1.5, 2], { max: 2 }), true); // the limit itself is within
    assert.equal(verdict([2.01, 9], { max: 2 }), false);
    assert.equal(verdict([1.9, 2.1], { max: 2 }), undefined); // spans the limit: the run cannot tell
    assert.equal(verdict([2, 2], { max: 2 }), true);
    assert.equal(verdict(undefined, { max: 2 }), undefined);
  });

  it('verdict: a lower limit (throughput) is judged from the other end of the interval', function () {
    assert.equal(verdict([1.5, 2.1], { min: 1.5 }), true);
    assert.equal(verdict([0.9, 1.49], { min: 1.5 }), false);
    assert.equal(verdict([1.38, 1.64], { min: 1.5 }), undefined);
    assert.equal(verdict(undefined, { min: 1.5 }), undefined);
  });

  it('verdict: a TypeError naming both limits unless exactly one is given', function () {
    assert.throws(() => verdict([0, 1], {}), { name: 'TypeError', message: /exactly one of `max` and `min`/ });
    assert.throws(() => verdict([0, 1], { max: 1, min: 0 }), { name: 'TypeError', message: /got max 1 and min 0/ });
  });
});
