// Docs and code must state the same defaults (STYLE.md: test the docs against the constant).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DETACHED_DEFAULTS,
  GRACEFUL_SHUTDOWN_DEFAULTS,
  HEALTH_ROUTES_DEFAULTS,
  RUN_DETACHED_DEFAULTS,
  SETUP_TELEMETRY_DEFAULTS,
  TRACE_CONTEXT_DEFAULTS,
} from '../../src/index.js';

import { CLOSING_MARGINS_MS } from '../../src/lifecycle/graceful-shutdown.js';
const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

/** The default cell of `option`'s row in the first options table after `heading`. */
function defaultInTable(markdown: string, heading: string, option: string): string {
  const from = heading === '' ? 0 : markdown.indexOf(`\n${heading}\n`);
  assert.ok(from >= 0, `heading ${heading} exists`);
  const section = markdown.slice(from).split('\n');
  const row = section.find((line) => line.startsWith(`| \`${option}\` |`));
  assert.ok(row, `${heading || 'the guide'} documents \`${option}\``);
  // | option | type | default | what |: the default is the third cell (escaped pipes in types are not separators).
  const cells = row.split(/(?<!\\)\|/).map((c) => c.trim());
  return cells[3]!.replace(/^`|`$/g, '');
}

/** A documented literal (`5000`, `'x-request-id'`, `['a', 'b']`, `true`) as a value. */
function literal(cell: string): unknown {
  return JSON.parse(cell.replace(/'/g, '"')) as unknown;
}

describe('documented defaults', () => {
  const guide = read('docs/getting-started.md');
  const readme = read('README.md');

  it('of traceContext() match TRACE_CONTEXT_DEFAULTS in docs/getting-started.md and README.md', () => {
    for (const [doc, heading] of [
      [guide, ''],
      [readme, '### traceContext(options?)'],
    ] as const) {
      for (const [option, value] of Object.entries(TRACE_CONTEXT_DEFAULTS)) {
        assert.deepEqual(literal(defaultInTable(doc, heading, option)), value, option);
      }
    }
  });

  it('of gracefulShutdown(), healthRoutes(), runDetached() and setupTelemetry() match their constants in README.md', () => {
    const tables = [
      ['### gracefulShutdown(server, options?)', GRACEFUL_SHUTDOWN_DEFAULTS],
      ['### healthRoutes(options?)', HEALTH_ROUTES_DEFAULTS],
      ['### runDetached(job, options?)', RUN_DETACHED_DEFAULTS],
      ['### setupTelemetry(options)', SETUP_TELEMETRY_DEFAULTS],
      ['### configureDetached(options)', DETACHED_DEFAULTS],
    ] as const;
    for (const [heading, defaults] of tables) {
      for (const [option, value] of Object.entries(defaults)) {
        assert.deepEqual(literal(defaultInTable(readme, heading, option)), value, `${heading}: ${option}`);
      }
    }
  });

  it('of gracefulShutdown() add up to the 48 s the README promises', () => {
    const { drainDelayMs, closeTimeoutMs, jobsTimeoutMs, hookTimeoutMs, finalScrapeTimeoutMs, flushTimeoutMs } = GRACEFUL_SHUTDOWN_DEFAULTS;
    assert.equal(drainDelayMs + closeTimeoutMs + jobsTimeoutMs + hookTimeoutMs + finalScrapeTimeoutMs + flushTimeoutMs, 48_000);
    assert.match(readme, /The defaults add up to 48 s/);
  });

  it('of gracefulShutdown() fit the grace period docs/kubernetes.md sets, margins of closing included', () => {
    const { drainDelayMs, closeTimeoutMs, jobsTimeoutMs, hookTimeoutMs, finalScrapeTimeoutMs, flushTimeoutMs } = GRACEFUL_SHUTDOWN_DEFAULTS;
    const worstCaseS = (drainDelayMs + closeTimeoutMs + jobsTimeoutMs + hookTimeoutMs + finalScrapeTimeoutMs + flushTimeoutMs + CLOSING_MARGINS_MS) / 1000;
    const guide = read('docs/kubernetes.md');
    assert.equal(worstCaseS, 50);
    assert.match(guide, new RegExp(`${worstCaseS} s in the worst case`));
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(guide)?.[1]);
    assert.ok(grace > worstCaseS, `terminationGracePeriodSeconds ${grace} must exceed the ${worstCaseS} s worst case`);
  });
});
