import { relative } from 'node:path';
import type { CaseResult } from './run.js';

/** Reports of a policy test run: TAP version 14 (the default) or JUnit XML, for CI. */

const title = (r: CaseResult) => `${relative(process.cwd(), r.file) || r.file}: ${r.name}`;

/** YAML block scalar lines of a TAP diagnostic, indented under `failures:` */
const yamlString = (s: string) => JSON.stringify(s);

export function tap(results: readonly CaseResult[]): string {
  const out = ['TAP version 14', `1..${results.length}`];
  results.forEach((r, i) => {
    out.push(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${title(r).replace(/#/g, '\\#')}`);
    if (!r.ok) out.push('  ---', '  failures:', ...r.failures.map((f) => `    - ${yamlString(f)}`), '  ...');
  });
  const failed = results.filter((r) => !r.ok).length;
  out.push(`# ${results.length - failed} passed, ${failed} failed`);
  return out.join('\n') + '\n';
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
  // characters XML 1.0 cannot carry
  // eslint-disable-next-line no-control-regex
  .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');

export function junit(results: readonly CaseResult[]): string {
  const byFile = new Map<string, CaseResult[]>();
  for (const r of results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  const failed = results.filter((r) => !r.ok).length;
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="gatehouse test" tests="${results.length}" failures="${failed}" time="${secs(results.reduce((a, r) => a + r.ms, 0))}">`];
  for (const [file, rs] of byFile) {
    const name = relative(process.cwd(), file) || file;
    out.push(`  <testsuite name="${xml(name)}" tests="${rs.length}" failures="${rs.filter((r) => !r.ok).length}" errors="0" skipped="0" time="${secs(rs.reduce((a, r) => a + r.ms, 0))}">`);
    for (const r of rs) {
      const head = `    <testcase classname="${xml(name)}" name="${xml(r.name)}" time="${secs(r.ms)}"`;
      if (r.ok) out.push(`${head}/>`);
      else out.push(`${head}>`, `      <failure message="${xml(r.failures[0] ?? 'failed')}">${xml(r.failures.join('\n'))}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
