import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { checkDocument } from '../../src/app/apim-check.js';
import { deploymentModel } from '../../src/gateway/apim/env.js';
import { ROOT, runCli } from '../helpers/gateway.js';
import { CORPUS } from './corpus-cases.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'apim');

test('corpus: at least 90% of the real-world documents that need no cloud service load as the gateway loads them', async (t) => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.xml')).sort();
  let usable = 0;
  let loaded = 0;
  const failures: string[] = [];
  for (const f of files) {
    const r = await checkDocument(join(FIXTURES, f), {
      namedValues: CORPUS[f]?.namedValues ?? {}, fragments: new Map(), deploymentModel: deploymentModel(undefined),
      logger: pino({ level: 'silent' }), loggers: undefined, backendIds: undefined,
    });
    if (r.error?.code === 'cloud-only-policy') continue;
    usable++;
    if (r.ok) loaded++;
    else failures.push(`${f}:${r.error!.line}:${r.error!.column}: ${r.error!.code}: ${r.error!.message}`);
  }
  t.diagnostic(`${loaded} of ${usable} documents load (${(100 * loaded / usable).toFixed(1)}%)${failures.length ? `; not: ${failures.join('; ')}` : ''}`);
  assert.ok(usable >= 40);
  assert.ok(loaded / usable >= 0.9, failures.join('\n'));
});

const doc = (inbound: string, backend = '<base />') => `<policies>\n  <inbound>\n    <base />\n    ${inbound}\n  </inbound>\n  <backend>${backend}</backend>\n  <outbound><base /></outbound>\n  <on-error><base /></on-error>\n</policies>\n`;

test('apim check: one line per file, the error codes of the issue, exit 1 when one fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'apim-check-'));
  mkdirSync(join(dir, 'frags'));
  writeFileSync(join(dir, 'frags', 'common.xml'), '<fragment><set-header name="X-Common" exists-action="override"><value>1</value></set-header></fragment>');
  writeFileSync(join(dir, 'gatehouse.yaml'), 'backends:\n  orders: { url: "http://127.0.0.1:1" }\napim:\n  fragments: frags\n  named-values: { tenant: contoso }\n');
  const files: Record<string, string> = {
    'good.xml': doc('<set-header name="X-T" exists-action="override"><value>@(context.Request.Headers.GetValueOrDefault("X", "{{tenant}}"))</value></set-header>\n    <include-fragment fragment-id="common" />\n    <set-backend-service backend-id="orders" />'),
    'misplaced.xml': doc('<forward-request />'),
    'unknown.xml': doc('<set-everything />'),
    'cloud.xml': doc('<authentication-managed-identity resource="https://x" />'),
    'fragment.xml': doc('<include-fragment fragment-id="nope" />'),
    'backend.xml': doc('<set-backend-service backend-id="payments" />'),
    'attribute.xml': doc('<set-header name="X" exists-action="override" colour="red"><value>1</value></set-header>'),
    'typo.xml': doc('<set-variable name="v" value="@(context.Reqest.Method)" />'),
    'syntax.xml': doc('<set-variable name="v" value="@(1 +)" />'),
    'named.xml': doc('<set-header name="X" exists-action="override"><value>{{missing}}</value></set-header>'),
    'mixed.xml': doc('<set-header name="X" exists-action="override"><value>a @(1) b</value></set-header>'),
    'malformed.xml': '<policies><inbound></policies>',
    'nobase.xml': '<policies><inbound><set-variable name="a" value="1" /></inbound></policies>',
  };
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
  const r = await runCli(['apim', 'check', '--config', 'gatehouse.yaml', ...Object.keys(files)], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const line = (f: string) => lines.filter((l) => l.startsWith(f + ':')).join('\n');
  assert.equal(line('good.xml'), 'good.xml: ok (4 policies, 1 expressions)');
  assert.match(line('misplaced.xml'), /^misplaced\.xml:4:5: error misplaced-policy: <forward-request> cannot be used in <inbound>/);
  assert.match(line('unknown.xml'), /^unknown\.xml:4:5: error unsupported-policy: /);
  assert.match(line('cloud.xml'), /^cloud\.xml:4:5: error cloud-only-policy: /);
  assert.match(line('fragment.xml'), /^fragment\.xml:4:\d+: error unknown-fragment: no fragment "nope" \(fragments: common\)/);
  assert.match(line('backend.xml'), /^backend\.xml:4:\d+: error unknown-backend-id: no backend named "payments"/);
  assert.match(line('attribute.xml'), /^attribute\.xml:4:\d+: error unsupported-attribute: <set-header> has no attribute "colour"/);
  assert.match(line('typo.xml'), /^typo\.xml:4:\d+: error unsupported-expression: /);
  assert.match(line('syntax.xml'), /^syntax\.xml:4:\d+: error expression-syntax: /);
  assert.match(line('named.xml'), /^named\.xml:4:\d+: error undefined-named-value: /);
  assert.match(line('mixed.xml'), /^mixed\.xml:4:\d+: error mixed-expression: /);
  assert.match(line('malformed.xml'), /^malformed\.xml:1:\d+: error xml-malformed: /);
  assert.match(line('nobase.xml'), /warning base-omitted: <inbound> has no <base\/>[^]*nobase\.xml: ok \(1 policies, 0 expressions\)/);

  const ok = await runCli(['apim', 'check', '--format', 'json', '--named-values', join(dir, 'nv.yaml'), join(dir, 'nobase.xml')], { cwd: dir, input: '' });
  // a missing named-values file is a failure of the command, not of a document
  assert.equal(ok.code, 1);
  writeFileSync(join(dir, 'nv.yaml'), 'tenant: fabrikam\n');
  const json = await runCli(['apim', 'check', '--format', 'json', '--named-values', 'nv.yaml', '--fragments', 'frags', 'nobase.xml', 'good.xml'], { cwd: dir });
  assert.equal(json.code, 0, json.stdout + json.stderr);
  const results = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; policies: number; warnings: unknown[] });
  assert.deepEqual(results.map((x) => [x.ok, x.policies, x.warnings.length]), [[true, 1, 1], [true, 4, 0]]);
});
