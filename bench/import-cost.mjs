// What each entry point costs to load: wall time of the import() and the
// process's RSS after it, in a fresh Node process per sample (median of
// --rounds, default 7). Run after `npm run build`: it loads dist/ through the
// package's exports map, as users do. Prints a Markdown table.
//
//   npm run build && node bench/import-cost.mjs [--rounds 7]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 7;
const ENTRIES = [
  ['baseline: `node:http` only', 'node:http'],
  ['`throughline/core`', 'throughline/core'],
  ['`throughline/express`', 'throughline/express'],
  ['`throughline/shutdown`', 'throughline/shutdown'],
  ['`throughline/telemetry`', 'throughline/telemetry'],
  ['`throughline` (root: everything)', 'throughline'],
];
const probe = (specifier) => `
const t0 = performance.now();
await import(${JSON.stringify(specifier)});
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, rss: process.memoryUsage().rss }));`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`| entry point | import time (ms, median of ${rounds}) | RSS after import (MB) |`);
console.log('| --- | ---: | ---: |');
for (const [label, specifier] of ENTRIES) {
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(specifier)], { cwd: root, encoding: 'utf8' });
    samples.push(JSON.parse(out));
  }
  console.log(`| ${label} | ${median(samples.map((s) => s.ms)).toFixed(0)} | ${(median(samples.map((s) => s.rss)) / 2 ** 20).toFixed(0)} |`);
}
