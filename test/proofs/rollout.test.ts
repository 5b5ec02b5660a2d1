// A short `npm run rollout`: the continuity proof end to end, as CI runs it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RolloutResult } from '../../examples/rollout/checks.js';
import { SPANS_PER_ORDER } from '../../examples/rollout/spans.js';
import { withoutCoverage } from '../helpers/subprocess.js';

const MAIN = fileURLToPath(new URL('../../examples/rollout/main.ts', import.meta.url));

describe('npm run rollout (short)', function () {
  this.timeout(120_000);
  let out: string;

  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'throughline-rollout-'));
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('replaces both workers under load with 0 failed requests, 0 lost spans, 0 broken traces and 0 abandoned jobs', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--duration', '8', '--connections', '10', '--drain-delay', '500', '--out', out], {
      env: withoutCoverage({ ...process.env }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stdout);

    const { result, problems } = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as { result: RolloutResult; problems: string[] };
    assert.deepEqual(problems, []);
    assert.ok(result.requests.succeeded > 100, `only ${result.requests.succeeded} requests succeeded`);
    assert.equal(result.requests.failed, 0);
    assert.equal(result.spans.expected, result.requests.succeeded * SPANS_PER_ORDER.length);
    assert.equal(result.spans.lost, 0);
    assert.equal(result.spans.exported, result.spans.expected);
    assert.equal(result.spans.missingParent, 0);
    assert.equal(result.spans.foreignTraceId, 0);
    assert.equal(result.jobs.abandoned, 0);
    assert.equal(result.jobs.started, result.jobs.completed);
    assert.ok(result.scrapes.attempted >= 5);
    assert.equal(result.scrapes.failed, 0);
    // Two replacements during the load, then the two survivors stopped: four clean exits.
    assert.deepEqual(result.restarts.map((r) => r.exitCode), [0, 0, 0, 0]);
    assert.match(await readFile(join(out, 'timeline.svg'), 'utf8'), /^<svg/);
    assert.match(stdout, /failed 0/);
  });
});
