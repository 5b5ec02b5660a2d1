import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as api from '../../src/index.js';
import * as core from '../../src/core.js';
import * as express from '../../middleware/index.js';
import * as shutdown from '../../src/shutdown.js';
import * as telemetry from '../../src/telemetry.js';
import * as testing from '../../src/testing.js';

const ENTRIES: Record<string, object> = {
  throughline: api,
  'throughline/core': core,
  'throughline/express': express,
  'throughline/shutdown': shutdown,
  'throughline/telemetry': telemetry,
  'throughline/testing': testing,
};

const run = promisify(execFile);

describe('the throughline package', () => {
  it('can require() every entry point from CommonJS (dist/ build, through the exports map), with the exports import sees', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/require-from-cjs.cjs', import.meta.url));
    // process.execPath is the pinned Node 24 when the suite runs through npm.
    const { stdout } = await run(process.execPath, [fixture], { cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    const loaded = JSON.parse(stdout) as Record<string, string[]>;
    assert.deepEqual(Object.keys(loaded), Object.keys(ENTRIES));
    for (const [entry, module] of Object.entries(ENTRIES)) assert.deepEqual(loaded[entry], Object.keys(module).sort(), entry);
  });

  it('the root entry exports everything the subpath entries do, and nothing else', () => {
    const subpaths = Object.entries(ENTRIES).filter(([entry]) => entry !== 'throughline' && entry !== 'throughline/testing');
    const union = new Set(subpaths.flatMap(([, module]) => Object.keys(module)));
    assert.deepEqual(Object.keys(api).sort(), [...union].sort());
  });

  it('packs dist/ with types first in exports, no side effects, and source maps that carry their sources', async function () {
    this.timeout(30_000);
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown>; sideEffects: unknown; type: string };
    for (const entry of Object.keys(ENTRIES)) {
      const key = entry === 'throughline' ? '.' : `./${entry.slice('throughline/'.length)}`;
      assert.deepEqual(Object.keys(pkg.exports[key] as object), ['types', 'default'], `${key}: types first`);
    }
    assert.equal(pkg.sideEffects, false);
    assert.equal(pkg.type, 'module');
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    const files = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    const outside = files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(f));
    assert.deepEqual(outside, [], 'only dist/ and the package documents are published');
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts') && files.includes('dist/src/index.js.map'));
    assert.deepEqual(files.filter((f) => f.endsWith('.d.ts.map')), [], 'no declaration maps pointing at unpublished .ts files');
    const map = JSON.parse(readFileSync(`${root}dist/middleware/trace-context/trace-context.js.map`, 'utf8')) as { sourcesContent?: string[] };
    assert.match(map.sourcesContent?.[0] ?? '', /export function traceContext/);
  });

  it('refuses to pack an unbuilt tree (prepack) and passes a built one', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const guard = `${root}scripts/prepack-guard.mjs`;
    const empty = mkdtempSync(join(tmpdir(), 'throughline-unbuilt-'));
    try {
      await assert.rejects(run(process.execPath, [guard, empty]), (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr ?? '', /refusing to pack without a build \(missing dist\/src\/index\.js, dist\/src\/index\.d\.ts, dist\/middleware\/index\.js\)\. Run `npm run build` first\./);
        return true;
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    await run(process.execPath, [guard, root]);
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.prepack, 'node scripts/prepack-guard.mjs');
    assert.equal(pkg.scripts.prepare, 'node scripts/prepare.mjs');
  });

  it('runs on the pinned Node (>= 22.15) required by OpenTelemetry SDK 3.x', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    assert.ok(major > 22 || (major === 22 && minor >= 15), `running on Node ${process.versions.node}`);
  });
});
