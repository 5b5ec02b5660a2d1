// Issue 13's proof with real parts, in the suite: pods behind a real HAProxy
// (health checks on /health/ready every second), scraped by a real Prometheus
// every 4 s (longer than nothing: the pods' drainDelayMs is the default 5 s,
// the scrape interval is what makes a last scrape miss), under open-loop
// keep-alive load while every pod is replaced. Figures come from Prometheus's
// HTTP API (examples/rollout/haproxy-rollout.ts).
import assert from 'node:assert/strict';
import { formatHaproxyRollout, runHaproxyRollout, which, type HaproxyRolloutResult } from '../../examples/rollout/haproxy-rollout.js';

const MISSING = 'the `haproxy` and `prometheus` binaries are not on PATH: install them (Debian: apt-get install haproxy prometheus; .ci/run does)';

describe('a rollout behind a real HAProxy, scraped by a real Prometheus', function () {
  this.timeout(120_000);
  let result: HaproxyRolloutResult;
  const scrapeIntervalS = 4;

  before(async function () {
    if (!which('haproxy') || !which('prometheus')) {
      if (process.env.CI) throw new Error(`CI: ${MISSING}`);
      console.log(`      skipped: ${MISSING}`);
      this.skip();
    }
    result = await runHaproxyRollout({ pods: 2, ratePerSecond: 100, durationS: 25, scrapeIntervalS });
    console.log(formatHaproxyRollout(result, scrapeIntervalS).replace(/^/gm, '      '));
  });

  it('fails no request', () => {
    assert.equal(result.sent, 2500);
    assert.deepEqual(result.failures, []);
    assert.equal(result.failed, 0);
    assert.equal(result.ok, 2500);
  });

  it('records in Prometheus every request each pod served, old pods included (their final scrape was seen)', () => {
    assert.equal(result.pods.length, 4);
    assert.equal(result.pods.reduce((sum, p) => sum + p.served, 0), 2500);
    for (const pod of result.pods) assert.equal(pod.recorded, pod.served, `${pod.pod}: served ${pod.served}, Prometheus has ${pod.recorded}`);
    assert.equal(result.lost, 0);
    for (const old of result.pods.slice(0, 2)) {
      assert.equal(old.finalScrape, 'seen', old.pod);
      assert.equal(old.exitCode, 0, old.pod);
    }
  });

  it('has no first-sample counts: every series starts at zero in Prometheus', () => {
    for (const pod of result.pods) assert.equal(pod.firstSample, 0, pod.pod);
  });
});
