#!/usr/bin/env node
// After the test suite: no process a test started may still run. Test processes are recognised
// by their command line (a config, data folder or helper under the temp folder's gatehouse-*
// folders, or a compiled test file). Any found is listed, killed, and the run fails (exit 1).
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const marks = [join(tmpdir(), 'gatehouse-'), join(root, 'dist', 'test') + '/'];
const strays = [];
for (const pid of readdirSync('/proc')) {
  if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
  let cmd;
  try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { continue; }
  if (cmd && marks.some((m) => cmd.includes(m))) strays.push({ pid: Number(pid), cmd });
}
if (strays.length === 0) {
  console.log('check-strays: no test process left running');
  process.exit(0);
}
console.error(`check-strays: ${strays.length} process(es) started by the tests are still running:`);
for (const s of strays) {
  console.error(`  ${s.pid} ${s.cmd.slice(0, 200)}`);
  try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
}
process.exit(1);
