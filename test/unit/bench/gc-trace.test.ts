// bench/gc.mjs reads V8's --trace-gc-nvp output (bench/gc-trace.mjs): these
// tests parse the real output of the Node.js running the suite, so a renamed
// field fails here instead of printing "0 scavenges" as a finding.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createGcCounter, gcOf } from '../../../bench/gc-trace.mjs';

// Keeps every 10,000 objects alive for a while (so scavenges promote some), then forces a full collection.
const ALLOCATE = 'let keep = []; for (let i = 0; i < 3e5; i++) { keep.push({ i }); if (keep.length > 1e4) keep = []; } globalThis.gc();';

function traceOf(script: string): string {
  const out = spawnSync(process.execPath, ['--trace-gc-nvp', '--expose-gc', '-e', script], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout;
}

describe('bench gc trace (npm run bench:gc)', function () {
  let trace = '';
  before(function () {
    trace = traceOf(ALLOCATE);
  });

  it('counts the scavenges and the full collection of a real --trace-gc-nvp run, with pauses and promoted bytes', function () {
    const gcs = trace.split('\n').map(gcOf).filter((g) => g !== undefined);
    const scavenges = gcs.filter((g) => g.kind === 'scavenge');
    const full = gcs.filter((g) => g.kind === 'full');
    assert.ok(scavenges.length >= 3, `${scavenges.length} scavenges in ${trace.length} bytes of trace`);
    assert.equal(full.length, 1, 'the one gc() call');
    assert.ok(scavenges.every((g) => Number.isFinite(g.pauseMs) && g.pauseMs >= 0));
    assert.ok(scavenges.some((g) => g.promoted > 0), 'objects kept across scavenges are promoted');
    assert.ok(full[0]!.pauseMs > 0, `full pause ${full[0]!.pauseMs}`);
  });

  it('reads the fields of one line exactly, in both formats, and nothing from other lines', function () {
    assert.deepEqual(gcOf('[1:0x1:0]  45 ms: pause=1.9 mutator=38.3 gc=s reduce_memory=0 promoted=399264 semi_space_copied=5'), { kind: 'scavenge', pauseMs: 1.9, promoted: 399264 });
    assert.deepEqual(gcOf('[1:0x1:0]  90 ms: pause=7.25 mutator=2.0 gc=mc reduce_memory=0 promoted=12'), { kind: 'full', pauseMs: 7.25, promoted: 0 });
    // Node 26 (V8 14) prints the same fields as JSON.
    assert.deepEqual(gcOf('[1:0x1:0]  43 ms: GC: {"pause":3.656,"mutator":33.1,"gc":"s","reduce_memory":false,"promoted":104296,"stack":true}'), { kind: 'scavenge', pauseMs: 3.656, promoted: 104296 });
    assert.deepEqual(gcOf('[1:0x1:0]  95 ms: GC: {"pause":7.5,"gc":"mc","promoted":12}'), { kind: 'full', pauseMs: 7.5, promoted: 0 });
    assert.equal(gcOf('[1:0x1:0]  96 ms: GC: {"pause":1.0,"gc":"ms"}'), undefined, 'a minor mark-sweep is neither');
    assert.equal(gcOf('[1:0x1:0]  97 ms: GC: {"pause":1.0,"gc":"s"'), undefined, 'a cut JSON line is no collection');
    assert.equal(gcOf('listening on 127.0.0.1:8080'), undefined);
    assert.equal(gcOf('[1:0x1:0]  91 ms: pause=0.1 gc=mmc '), undefined, 'a kind it does not know is not counted as either');
  });

  it('counts only while counting, and lines split across chunks once', function () {
    const counter = createGcCounter();
    const lines = trace.split('\n').filter((l) => gcOf(l)?.kind === 'scavenge');
    counter.feed(`${lines[0]}\n`); // before counting: not counted
    counter.counting = true;
    const text = `${lines.slice(1).join('\n')}\n`;
    const cut = Math.floor(text.length / 2);
    counter.feed(text.slice(0, cut));
    counter.feed(Buffer.from(text.slice(cut)));
    counter.counting = false;
    counter.feed(`${lines[0]}\n`);
    assert.equal(counter.scavenges.count, lines.length - 1);
    const expected = lines.slice(1).map((l) => gcOf(l)!);
    assert.equal(counter.scavenges.promoted, expected.reduce((n, g) => n + g.promoted, 0));
    assert.ok(Math.abs(counter.scavenges.pauseMs - expected.reduce((n, g) => n + g.pauseMs, 0)) < 1e-9);
    assert.equal(counter.full.count, 0);
  });
});
