import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as api from '../src/index.js';

const run = promisify(execFile);

describe('the throughline package', () => {
  it('can be required from CommonJS (dist/ build, through the exports map)', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/require-from-cjs.cjs', import.meta.url));
    // process.execPath is the pinned Node 24 when the suite runs through npm.
    const { stdout } = await run(process.execPath, [fixture], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    const loaded = JSON.parse(stdout) as { names: string[]; traceContext: string };
    assert.equal(loaded.traceContext, 'function');
    assert.deepEqual(loaded.names, Object.keys(api).sort(), 'require() sees the same exports as import');
  });

  it('runs on the pinned Node (>= 22.15) required by OpenTelemetry SDK 3.x', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    assert.ok(major > 22 || (major === 22 && minor >= 15), `running on Node ${process.versions.node}`);
  });
});
