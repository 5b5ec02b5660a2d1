// The round logic of npm run bench (bench/rounds.mjs): when a measurement is
// taken again because another process was busy, and how a target's interval
// becomes a verdict.
import assert from 'node:assert/strict';
import { decide, leastNoisy, signed } from '../../../bench/rounds.mjs';

/** An attempt function that returns the given `other` values in turn, and counts its calls. */
function attempts(...others: (number | undefined)[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    attempt: () => Promise.resolve({ n: calls, other: others[calls++] }),
  };
}

describe('bench rounds (npm run bench)', function () {
  it('leastNoisy: a quiet first attempt is taken and not repeated', async function () {
    const a = attempts(0.02, 0);
    assert.deepEqual(await leastNoisy(a.attempt, { retries: 2, noise: 0.15 }), { best: { n: 0, other: 0.02 }, attempts: 1 });
    assert.equal(a.calls, 1);
  });

  it('leastNoisy: a noisy attempt is repeated until one is quiet, and the quiet one is kept', async function () {
    const a = attempts(0.5, 0.3, 0.1, 0);
    assert.deepEqual(await leastNoisy(a.attempt, { retries: 5, noise: 0.15 }), { best: { n: 2, other: 0.1 }, attempts: 3 });
    assert.equal(a.calls, 3);
  });

  it('leastNoisy: at most `retries` repeats, keeping the quietest when none was quiet; the limit itself is quiet', async function () {
    assert.deepEqual(await leastNoisy(attempts(0.5, 0.2, 0.9, 0).attempt, { retries: 2, noise: 0.15 }), { best: { n: 1, other: 0.2 }, attempts: 3 });
    assert.deepEqual(await leastNoisy(attempts(0.5, 0.7).attempt, { retries: 0, noise: 0.15 }), { best: { n: 0, other: 0.5 }, attempts: 1 });
    assert.equal((await leastNoisy(attempts(0.15, 0).attempt, { retries: 2, noise: 0.15 })).attempts, 1);
  });

  it('leastNoisy: an attempt that cannot see the machine (no /proc/stat) is kept as it is', async function () {
    assert.deepEqual(await leastNoisy(attempts(undefined, 0).attempt, { retries: 2, noise: 0.15 }), { best: { n: 0, other: undefined }, attempts: 1 });
  });

  const cpu = { kind: 'cpu' as const, max: 4, value: 3, blocks: [1, 2, 3, 3, 4, 5] };

  it('decide: met, not met, and an interval that spans the limit is not judged and says why', function () {
    assert.equal(decide({ ...cpu, interval: [1, 3.9] }).met, true);
    assert.equal(decide({ ...cpu, interval: [4.1, 9] }).met, false);
    const spans = decide({ ...cpu, interval: [2, 6] });
    assert.equal(spans.met, undefined);
    assert.equal(spans.noisy, 'the interval spans the limit of +4.0 µs');
    const ratio = decide({ kind: 'rps' as const, min: 1.5, value: 1.4, interval: [1.2, 1.6], ratioBlocks: [1, 2, 3, 4, 5, 6] });
    assert.equal(ratio.noisy, 'the interval spans the limit of 1.5 ×');
  });

  it('decide: too few blocks for an interval is not judged, whatever the value', function () {
    const few = decide({ ...cpu, value: -10, interval: undefined, blocks: [-10] });
    assert.equal(few.met, undefined);
    assert.equal(few.noisy, '1 blocks are too few for an interval');
    assert.equal(decide({ kind: 'rss' as const, max: 1.2, value: 1, interval: undefined, ratioBlocks: [1, 1] }).noisy, '2 blocks are too few for an interval');
  });

  it('decide: more than half the pairs above the noise limit is not judged, even with an interval that is met; half is judged', function () {
    const noisy = decide({ ...cpu, interval: [1, 2] }, { noisy: 16, diffs: Array(30).fill(0) });
    assert.equal(noisy.met, undefined);
    assert.equal(noisy.noisy, '16 of 30 pairs above the noise limit');
    assert.equal(decide({ ...cpu, interval: [1, 2] }, { noisy: 15, diffs: Array(30).fill(0) }).met, true);
  });

  it('signed: one decimal with its sign', function () {
    assert.deepEqual([signed(4), signed(-0.44), signed(0), signed(12.06)], ['+4.0', '-0.4', '+0.0', '+12.1']);
  });
});
