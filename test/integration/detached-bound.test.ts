// Issue 12, item 3: detached work is bounded (maxJobs), refusing past it is
// explicit (done, onError, a counted outcome, one warning), and abandoning
// many jobs at shutdown is summarized, never listed in full.
import { metrics, propagation, trace } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import {
  ABANDONED_LISTED,
  configureDetached,
  DETACHED_DEFAULTS,
  DetachedLimitError,
  drainDetached,
  gracefulShutdown,
  runDetached,
  runningJobCount,
  setupTelemetry,
  type Telemetry,
} from '../../src/index.js';
import { processState } from '../../src/internal/state.js';
import { resetState } from '../../src/testing.js';
import { scrapeHandler, value } from '../helpers/exposition.js';
import { captureDiag } from '../helpers/otel.js';
import { diag } from '@opentelemetry/api';

const never = () => new Promise<never>(() => {});

describe('the bound on detached jobs (maxJobs)', () => {
  let telemetry: Telemetry | undefined;
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
    diag.disable();
    resetState();
    metrics.disable();
    trace.disable();
    propagation.disable();
  });

  it('defaults to 10,000 and validates configureDetached() with TypeErrors naming the option', () => {
    assert.equal(DETACHED_DEFAULTS.maxJobs, 10_000);
    assert.equal(processState().jobs.maxJobs(), 10_000);
    assert.throws(() => configureDetached({ maxJobs: 0 }), { name: 'TypeError', message: /`maxJobs`.*>= 1.*`0`/ });
    assert.throws(() => configureDetached({ maxJobs: 2.5 }), { name: 'TypeError', message: /`maxJobs` to be an integer >= 1/ });
    assert.throws(() => configureDetached({ maxJobs: Infinity }), { name: 'TypeError', message: /`maxJobs`/ });
    assert.throws(() => configureDetached({ maxJob: 5 } as never), { name: 'TypeError', message: /Unknown option `maxJob` passed to configureDetached/ });
    configureDetached({ maxJobs: 7 });
    assert.equal(processState().jobs.maxJobs(), 7);
    resetState();
    assert.equal(processState().jobs.maxJobs(), 10_000);
  });

  it('refuses the job past maxJobs: done resolves DetachedLimitError, onError hears it, it never runs, it is counted as rejected, one warning', async () => {
    telemetry = setupTelemetry({ serviceName: 'bound', runtimeMetrics: false });
    const seen = captureDiag();
    configureDetached({ maxJobs: 3 });
    const held = [runDetached(never, { name: 'a' }), runDetached(never, { name: 'b' }), runDetached(never, { name: 'c' })];
    assert.equal(runningJobCount(), 3);
    let ran = 0;
    const errors: unknown[] = [];
    const refused = [1, 2].map(() => runDetached(() => void ran++, { name: 'overflow', onError: (e) => errors.push(e) }));
    const results = await Promise.all(refused.map((r) => r.done));
    assert.deepEqual(refused.map((r) => r.id), [0, 0]);
    for (const result of results) {
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.error instanceof DetachedLimitError);
      assert.ok(!result.ok && /3 detached jobs are already waiting or running.*configureDetached\(\{ maxJobs \}\)/.test((result.error as Error).message));
    }
    assert.equal(errors.length, 2);
    assert.ok(errors[0] instanceof DetachedLimitError && errors[0].maxJobs === 3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ran, 0, 'a refused job never runs');
    assert.equal(runningJobCount(), 3, 'nothing queued past the bound');
    assert.equal(seen.warnings.filter((w) => /detached job not started/.test(w)).length, 1, 'one warning per overflow episode');
    assert.match(seen.warnings[0]!, /First refused: "overflow"/);
    const samples = await scrapeHandler(telemetry.metricsHandler);
    assert.equal(value(samples, 'throughline_detached_jobs_settled_total', { throughline_job_outcome: 'rejected' }), 2);
    assert.equal(value(samples, 'throughline_detached_jobs_running'), 3);

    // Below the bound again, jobs are accepted; a new overflow warns again.
    const report = await drainDetached({ timeoutMs: 10 });
    assert.equal(report.abandonedCount, 3);
    assert.deepEqual((await Promise.all(held.map((h) => h.done))).map((r) => r.ok), [false, false, false]);
    const accepted = runDetached(() => 'ok', { name: 'later' });
    assert.deepEqual(await accepted.done, { ok: true, value: 'ok' });
    for (let i = 0; i < 4; i++) runDetached(never, { name: 'again' });
    assert.equal(seen.warnings.filter((w) => /detached job not started/.test(w)).length, 2);
  });

  it('abandons 10,000 jobs in one pass at shutdown: all aborted, the report and the log list the first 10 and count the rest', async () => {
    const controllers: AbortSignal[] = [];
    for (let i = 0; i < DETACHED_DEFAULTS.maxJobs; i++) {
      runDetached(({ signal }) => {
        controllers.push(signal);
        return never();
      }, { name: `job-${i}` });
    }
    assert.equal(runDetached(never).id, 0, 'the 10,001st is refused');
    await new Promise((resolve) => setImmediate(resolve));
    const server = createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const logged: { msg: string; obj: Record<string, unknown> }[] = [];
    const log = (obj: object, msg: string) => void logged.push({ msg, obj: obj as Record<string, unknown> });
    const shutdown = gracefulShutdown(server, {
      signals: [],
      drainDelayMs: 0,
      closeTimeoutMs: 1_000,
      jobsTimeoutMs: 200,
      logger: { info: log, warn: log, error: log },
    });
    const report = await shutdown.terminate('test');
    assert.equal(report.jobsAbandonedCount, 10_000);
    assert.equal(report.jobsAbandoned.length, ABANDONED_LISTED);
    assert.deepEqual(report.jobsAbandoned.map((j) => j.name), Array.from({ length: 10 }, (_, i) => `job-${i}`));
    assert.deepEqual(report.timedOut, ['jobs']);
    assert.equal(report.exitCode, 1);
    assert.equal(controllers.length, 10_000);
    assert.ok(controllers.every((s) => s.aborted), 'every abandoned job saw its abort signal');
    assert.equal(runningJobCount(), 0);
    const warning = logged.find((l) => l.msg === 'throughline: detached jobs abandoned at shutdown');
    assert.equal(warning?.obj['abandonedCount'], 10_000);
    assert.equal((warning?.obj['abandoned'] as unknown[]).length, 10);
    // Nothing logged carries the whole list: the largest line stays small.
    const largest = Math.max(...logged.map((l) => JSON.stringify(l.obj).length));
    assert.ok(largest < 10_000, `largest log line ${largest} bytes`);
    assert.equal(processState().jobs.totals().abandoned, 10_000);
    assert.equal(processState().jobs.totals().rejected, 1);
  });
});
