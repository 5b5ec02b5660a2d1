import assert from 'node:assert/strict';
import { createJobRegistry } from '../../../src/detached/job-registry.js';

describe('createJobRegistry()', () => {
  it('counts running jobs and cumulative outcomes; a second settle() does nothing', () => {
    const jobs = createJobRegistry(10_000);
    const a = jobs.track('a', new AbortController());
    const b = jobs.track('b', new AbortController());
    assert.deepEqual([a.id, b.id], [1, 2]);
    assert.equal(jobs.running(), 2);
    a.settle(true);
    a.settle(false);
    b.settle(false);
    assert.equal(jobs.running(), 0);
    assert.deepEqual({ ...jobs.totals() }, { completed: 1, failed: 1, abandoned: 0, rejected: 0 });
  });

  it('drain() resolves at once when idle, and counts what settles while it waits', async () => {
    const jobs = createJobRegistry(10_000);
    assert.deepEqual(await jobs.drain({ timeoutMs: 60_000 }), { completed: 0, failed: 0, abandoned: [], abandonedCount: 0 });
    const a = jobs.track('a', new AbortController());
    const b = jobs.track('b', new AbortController());
    const drained = jobs.drain({ timeoutMs: 60_000 });
    a.settle(true);
    b.settle(false);
    assert.deepEqual(await drained, { completed: 1, failed: 1, abandoned: [], abandonedCount: 0 });
  });

  it('drain() abandons what is still running at the deadline: aborted, counted, reported with its name', async () => {
    const jobs = createJobRegistry(10_000);
    const stuck = new AbortController();
    jobs.track('stuck', stuck);
    const report = await jobs.drain({ timeoutMs: 20 });
    assert.equal(report.abandoned.length, 1);
    assert.equal(report.abandoned[0]!.name, 'stuck');
    assert.ok(stuck.signal.aborted);
    assert.match(String((stuck.signal.reason as Error).message), /detached job abandoned at shutdown after 20 ms/);
    assert.equal(jobs.running(), 0);
    assert.equal(jobs.totals().abandoned, 1);
  });

  it('abortAll() aborts every running job with the given reason and forgets them', () => {
    const jobs = createJobRegistry(10_000);
    const controllers = [new AbortController(), new AbortController()];
    for (const c of controllers) jobs.track('x', c);
    const reason = new Error('reset');
    jobs.abortAll(reason);
    assert.equal(jobs.running(), 0);
    for (const c of controllers) assert.equal(c.signal.reason, reason);
  });

  it('two registries share nothing', () => {
    const one = createJobRegistry(10_000);
    const two = createJobRegistry(10_000);
    one.track('a', new AbortController());
    assert.equal(two.running(), 0);
    assert.equal(two.track('b', new AbortController()).id, 1);
  });
});
