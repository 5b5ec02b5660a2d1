// `npm run bench` end to end, as short as it goes (--quick): the rounds, a
// paired measurement and the table, from real servers under real load, so the
// script itself cannot rot between the runs that write docs/benchmarks.md.
// Figures are not asserted (speed is measured in bench/, never in a test),
// only that each is there and is a number.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
const US = String.raw`[+-]?\d+\.\d µs`;

describe('bench run (npm run bench --quick)', function () {
  before(function () {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'src', 'index.js')), 'bench variants import the built package: run `npm run build` first');
  });

  it('measures a round and a paired difference under load with a traceparent on every other request, and prints the table', function () {
    const out = run('--quick', '--no-pin', '--only=express,floor-context', '--pair=floor-context:express', '--traceparent');
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^throughline bench: 2 variants, 1 round\(s\) × 1 s, 4 connections \(half with a traceparent\), warmup 0\.5 s, not pinned, Node\.js v\d+/m);
    // Round 1 runs the variants in the list's order (the rotation starts there).
    assert.match(out.stdout, new RegExp(`^round 1/1: express ${US} \\(other [\\d.?]+\\), floor-context ${US} \\(other `, 'm'));
    assert.match(out.stdout, new RegExp(`^paired floor-context − express: ${US}, 95 % interval n/a µs; blocks [+-]\\d+\\.\\d; pairs `, 'm'));
    // Both rows, and no failed request: the last column.
    assert.match(out.stdout, /^\| bare Express 5 \| \d+\.\d \|.* \| 0 \|$/m);
    assert.match(out.stdout, /^\| floor: context only \(hand-written\) \| \d+\.\d \|.* \| 0 \|$/m);
  });

  it('refuses an invalid flag with a TypeError that names it, before starting anything', function () {
    const zero = run('--quick', '--no-pin', '--rounds=0');
    assert.notEqual(zero.status, 0);
    assert.match(zero.stderr, /TypeError: Expected `--rounds` to be a number > 0, got `0`/);
    const pair = run('--quick', '--no-pin', '--only=express', '--pair=express:nope');
    assert.notEqual(pair.status, 0);
    assert.match(pair.stderr, /TypeError: Expected `--pair` to be <variant>:<variant> of the variants this run starts, got `express:nope`/);
    assert.doesNotMatch(zero.stdout + pair.stdout, /^round /m);
  });

  it('runs every server with the --node-arg flags', function () {
    // A flag node refuses stops the server before it listens: the flag reached it.
    const out = run('--quick', '--no-pin', '--only=express', '--node-arg=--no-such-flag-for-the-bench');
    assert.notEqual(out.status, 0);
    assert.match(out.stdout, /servers run with --no-such-flag-for-the-bench/);
    assert.match(out.stderr, /--no-such-flag-for-the-bench/);
    assert.match(out.stderr, /express: server exited with \d+ before listening/);
  });
});
