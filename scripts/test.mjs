#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node:test.
// Node 20's --test does not expand globs, so the files are listed here.
// Suites that need Redis, PostgreSQL or Chromium skip loudly when the service is missing,
// except under CI=true, where a missing service fails.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const base = join(root, 'dist', 'test');
// arguments: substrings of the test files to run (default: all), --exclude=SUBSTRING to leave
// files out, and node's own --test-* options (e.g. --test-skip-pattern=...), passed through
const args = process.argv.slice(2);
const nodeOptions = args.filter((a) => a.startsWith('--test-'));
const exclude = args.filter((a) => a.startsWith('--exclude=')).map((a) => a.slice('--exclude='.length));
const filter = args.filter((a) => !a.startsWith('--exclude=') && !a.startsWith('--test-'));
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(base);
files.sort();
const selected = (filter.length ? files.filter((f) => filter.some((x) => relative(root, f).includes(x))) : files)
  .filter((f) => !exclude.some((x) => relative(root, f).includes(x)));
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '3';
const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...nodeOptions, ...selected], { stdio: 'inherit', cwd: root });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
