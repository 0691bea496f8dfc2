import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIR = join(ROOT, 'src', 'upstream');

/** src/upstream sits below the gateway: it may use config units and errors, observability, node built-ins, undici and zod (its config schema fragment), nothing above it. */
const ALLOWED = [/^\.\/[a-z0-9-]+\.js$/, /^zod$/, /^\.\.\/config\/(units|errors)\.js$/, /^\.\.\/observability\/[a-z0-9-]+\.js$/, /^node:/, /^undici$/, /^pino$/];

describe('src/upstream dependency direction', () => {
  it('imports nothing from the gateway, the edge or identity (only its allowed neighbours)', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 10, `found ${files.length} files`);
    const bad: string[] = [];
    for (const f of files) {
      const src = readFileSync(join(DIR, f), 'utf8');
      for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = m[1] ?? m[2]!;
        if (!ALLOWED.some((re) => re.test(spec))) bad.push(`${f}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
  });
});
