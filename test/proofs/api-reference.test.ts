// docs/api.md is generated from the code; this keeps it from drifting.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { API_REFERENCE_PATH, renderApiReference } from '../helpers/api-reference.js';
import * as api from 'throughline';

describe('docs/api.md', () => {
  const reference = readFileSync(API_REFERENCE_PATH, 'utf8');

  it('matches the exports and JSDoc of src/index.ts (regenerate with `npm run docs:api`)', function () {
    this.timeout(60_000);
    assert.equal(reference, renderApiReference(), 'docs/api.md is stale: run `npm run docs:api`');
  });

  it('has a section for every runtime export', () => {
    for (const name of Object.keys(api)) assert.match(reference, new RegExp(`^### ${name}$`, 'm'), `${name} is not documented`);
  });
});
