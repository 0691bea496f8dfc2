import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's version (from package.json, next to dist/ or the sources). */
export function version(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of ['../../../package.json', '../../package.json']) {
    try { return JSON.parse(readFileSync(resolve(here, p), 'utf8')).version as string; } catch { /* try next */ }
  }
  return '0.0.0';
}
