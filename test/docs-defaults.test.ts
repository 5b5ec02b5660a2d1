// Docs and code must state the same defaults (STYLE.md: test the docs against the constant).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TRACE_CONTEXT_DEFAULTS } from '../src/index.js';

const guide = readFileSync(new URL('../docs/getting-started.md', import.meta.url), 'utf8');

function defaultInTable(option: string): string {
  const row = guide.split('\n').find((line) => line.startsWith(`| \`${option}\` |`));
  assert.ok(row, `docs/getting-started.md documents \`${option}\``);
  // | option | type | default | what |: the default is the third cell (escaped pipes in types are not separators).
  const cells = row.split(/(?<!\\)\|/).map((c) => c.trim());
  return cells[3]!.replace(/^`|`$/g, '');
}

describe('documented defaults of traceContext()', () => {
  it('match TRACE_CONTEXT_DEFAULTS', () => {
    assert.deepEqual(JSON.parse(defaultInTable('ignore').replace(/'/g, '"')), TRACE_CONTEXT_DEFAULTS.ignore);
    assert.equal(defaultInTable('trustIncoming'), String(TRACE_CONTEXT_DEFAULTS.trustIncoming));
    assert.equal(defaultInTable('requestIdHeader'), `'${TRACE_CONTEXT_DEFAULTS.requestIdHeader}'`);
  });
});
