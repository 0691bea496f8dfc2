import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GENERATED } from '../scripts/gen-docs.js';
import { ROOT } from './helpers/gateway.js';

test('the generated configuration and policy references match the schemas (run `npm run docs`)', () => {
  for (const [rel, gen] of Object.entries(GENERATED)) {
    assert.equal(readFileSync(join(ROOT, rel), 'utf8'), gen(), `${rel} is out of date: run npm run docs`);
  }
});

test('every relative link in README.md and docs/ points at a file that exists', () => {
  // docs/policies-prose/ are fragments of docs/policies.md: their links are checked there
  const files = ['README.md', ...walk('docs').filter((f) => !f.startsWith(join('docs', 'policies-prose')))];
  const broken: string[] = [];
  for (const rel of files) {
    const text = readFileSync(join(ROOT, rel), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!.split('#')[0]!;
      if (!target || /^[a-z]+:/i.test(target)) continue;
      if (!existsSync(join(ROOT, dirname(rel), target))) broken.push(`${rel}: ${m[1]}`);
    }
  }
  assert.deepEqual(broken, []);
});

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []);
}
