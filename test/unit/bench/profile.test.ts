// `npm run bench -- --profile=<variant>` attributes a profile's time to its
// owners (bench/profile.mjs). Tested on a real V8 profile of throughline's
// built code and an npm package, so a change in the .cpuprofile format or in
// the paths would show here, not as a wrong finding.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ownerOf, profileTime, type CpuProfile } from '../../../bench/profile.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const url = (rel: string) => pathToFileURL(path.join(ROOT, rel)).href;

// About 400 ms split between throughline's id pool (dist/) and @opentelemetry/core's
// traceparent parser, which calls @opentelemetry/api for its context.
const SCRIPT = `
import { randomTraceId } from ${JSON.stringify(url('dist/src/internal/random-ids.js'))};
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ROOT_CONTEXT, defaultTextMapGetter } from '@opentelemetry/api';
const propagator = new W3CTraceContextPropagator();
const carrier = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
// In a callback, as a server's requests are: a module's own body runs under Node's module loader.
setImmediate(() => {
  let n = 0;
  for (const end = Date.now() + 200; Date.now() < end; ) for (let i = 0; i < 1000; i++) n += randomTraceId().length;
  for (const end = Date.now() + 200; Date.now() < end; ) for (let i = 0; i < 1000; i++) n += propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter) === ROOT_CONTEXT ? 0 : 1;
  if (n === 0) process.exit(3);
});
`;

describe('bench profile attribution (npm run bench -- --profile)', function () {
  let profile: CpuProfile;
  before(function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'throughline-profile-test-'));
    try {
      const out = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${dir}`, '--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      const [file] = readdirSync(dir);
      profile = JSON.parse(readFileSync(path.join(dir, file!), 'utf8')) as CpuProfile;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ownerOf: the project, a bench variant, a package (scoped or not); the OpenTelemetry API, its context manager and Node are nobody', function () {
    assert.equal(ownerOf(url('dist/middleware/trace-context/trace-context.js'), ROOT), 'throughline');
    assert.equal(ownerOf(url('bench/variants/floors/context.mjs'), ROOT), 'bench');
    assert.equal(ownerOf(url('node_modules/express/lib/application.js'), ROOT), 'express');
    assert.equal(ownerOf(url('node_modules/router/node_modules/path-to-regexp/dist/index.js'), ROOT), 'path-to-regexp');
    assert.equal(ownerOf(url('node_modules/@opentelemetry/sdk-trace/build/src/Tracer.js'), ROOT), '@opentelemetry/sdk-trace');
    assert.equal(ownerOf(url('node_modules/@opentelemetry/api/build/src/api/context.js'), ROOT), undefined);
    assert.equal(ownerOf(url('node_modules/@opentelemetry/context-async-hooks/build/src/AsyncLocalStorageContextManager.js'), ROOT), undefined);
    assert.equal(ownerOf('node:internal/async_local_storage/async_context_frame', ROOT), undefined);
    assert.equal(ownerOf('', ROOT), undefined);
    assert.equal(ownerOf(url('src/core.ts'), ROOT), undefined, 'only built code is throughline at run time');
  });

  it('profileTime: all busy time is given out, by function and by owner, each to the code that did or called it', function () {
    const { busyUs, self, owners } = profileTime(profile, ROOT);
    const sum = (xs: [string, number][]) => xs.reduce((n, [, us]) => n + us, 0);
    assert.ok(busyUs > 300_000, `busy ${busyUs} µs of a 400 ms script`);
    assert.ok(Math.abs(sum(self) - busyUs) < 1e-6 * busyUs && Math.abs(sum(owners) - busyUs) < 1e-6 * busyUs);
    const of = new Map(owners);
    // Each loop ran ~200 ms; each owner gets most of its loop (the rest is the loop itself, V8 and GC).
    assert.ok((of.get('throughline') ?? 0) > 100_000, `throughline ${of.get('throughline')} µs`);
    assert.ok((of.get('@opentelemetry/core') ?? 0) > 100_000, `@opentelemetry/core ${of.get('@opentelemetry/core')} µs`);
    assert.equal(of.get('@opentelemetry/api'), undefined, "the API's time is its caller's");
    assert.equal(of.get('(idle)'), undefined);
    assert.ok((of.get('(module loading)') ?? 0) > 0, 'the imports are the start, not the work');
    // A function is named with its path from the root and its line. Which of the
    // loops' own functions keep self time depends on the JIT: Node 26 inlined
    // randomTraceId() so that all its time was hexSlice's (CI, 2026-12-03).
    assert.ok(
      self.some(([fn]) => /^\S+ (dist\/src\/internal\/random-ids\.js|node_modules\/@opentelemetry\/core\/\S+):\d+$/.test(fn)),
      self.slice(0, 5).join('; '),
    );
    assert.deepEqual(
      self.map(([, us]) => us),
      self.map(([, us]) => us).sort((a, b) => b - a),
      'largest first',
    );
  });
});
