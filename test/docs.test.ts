import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED } from '../scripts/gen-docs.js';
import { ROOT } from './helpers/gateway.js';

test('the generated configuration and policy references match the schemas (run `npm run docs`)', () => {
  for (const [rel, gen] of Object.entries(GENERATED)) {
    assert.equal(readFileSync(join(ROOT, rel), 'utf8'), gen(), `${rel} is out of date: run npm run docs`);
  }
});
