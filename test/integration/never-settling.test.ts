// Issue 12, item 2: a detached job that never settles must not end the
// process mid-`jobs`. The child holds no handle of its own once its server
// closes (no IPC channel either), which is what exposed the unref'd drain timer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { withoutCoverage } from '../helpers/subprocess.js';

const CHILD = fileURLToPath(new URL('../fixtures/never-settling-child.ts', import.meta.url));

interface Line {
  ready?: boolean;
  hook?: string;
  telemetry?: string;
  exit?: number;
  drained?: string[];
  report?: { durationsMs: Record<string, number>; jobsAbandoned: { name: string }[]; exitCode: number };
}

async function run(env: Record<string, string>, onReady: (child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: withoutCoverage({ ...process.env, ...env }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const wasReady = lines().some((l) => l.ready);
    out += chunk;
    if (!wasReady && lines().some((l) => l.ready)) onReady(child);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, lines: lines() };
}

describe('a detached job that never settles', () => {
  it('does not end the process mid-jobs: jobs lasts jobsTimeoutMs, hooks run, telemetry flushes, exit code 1', async () => {
    const { code, lines } = await run({ JOBS_TIMEOUT_MS: '1000' }, (child) => child.kill('SIGTERM'));
    assert.equal(code, 1);
    assert.deepEqual(lines.filter((l) => l.hook !== undefined), [{ hook: 'ran' }]);
    assert.deepEqual(lines.filter((l) => l.telemetry !== undefined).map((l) => l.telemetry), ['forceFlush', 'shutdown']);
    assert.deepEqual(lines.filter((l) => l.exit !== undefined), [{ exit: 1 }]);
    const report = lines.find((l) => l.report)?.report;
    assert.ok(report);
    assert.deepEqual(report.jobsAbandoned.map((j) => j.name), ['never-settles']);
    // Generous bounds: the phase waits the whole jobsTimeoutMs (it used to end at ~200 ms).
    assert.ok(report.durationsMs['jobs']! >= 950 && report.durationsMs['jobs']! < 5_000, `jobs took ${report.durationsMs['jobs']} ms`);
  });

  it('lets drainDetached() awaited at top level return its report', async () => {
    const { code, lines } = await run({ NEVER_MODE: 'top-level-drain' }, () => {});
    assert.equal(code, 0);
    assert.deepEqual(lines.filter((l) => l.drained), [{ drained: ['never-settles'] }]);
  });
});
