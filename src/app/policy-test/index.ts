import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runFile, type CaseResult } from './run.js';
import { junit, tap } from './report.js';

/**
 * `gatehouse test FILE... [--reporter tap|junit] [--output F]`: run declarative policy tests
 * (docs/policy-tests.md). Exit 0 when every case passes, 1 when one fails (or a file cannot be
 * loaded), 2 on a usage error.
 */

export class TestUsage extends Error {}

export async function testCommand(args: string[], stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { reporter: { type: 'string', default: 'tap' }, output: { type: 'string' } }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new TestUsage((e as Error).message);
  }
  const { values, positionals: files } = parsed;
  if (values.reporter !== 'tap' && values.reporter !== 'junit') throw new TestUsage(`--reporter is tap or junit, not ${values.reporter}`);
  if (files.length === 0) throw new TestUsage('name at least one test file');
  const results: CaseResult[] = [];
  for (const f of files) results.push(...await runFile(f));
  const report = values.reporter === 'junit' ? junit(results) : tap(results);
  if (values.output !== undefined) {
    writeFileSync(values.output, report);
    const failed = results.filter((r) => !r.ok);
    stderr.write(`${results.length - failed.length} passed, ${failed.length} failed (report: ${values.output})\n`);
    for (const r of failed) stderr.write(`not ok: ${r.name}: ${r.failures.join('; ')}\n`);
  } else {
    stdout.write(report);
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
