import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { checkDocument } from '../../src/app/apim-check.js';
import { deploymentModel } from '../../src/gateway/apim/env.js';

const dir = mkdtempSync(join(tmpdir(), 'apim-snippets-'));
const check = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return checkDocument(join(dir, name), {
    namedValues: {}, fragments: new Map(), deploymentModel: deploymentModel(undefined),
    logger: pino({ level: 'silent' }), loggers: undefined, backendIds: undefined,
  });
};

test('apim check loads a snippet (policies with no <policies> root) like a fragment', async () => {
  const r = await check('canary.xml', [
    '<!-- Copy this snippet into the inbound element -->',
    '<set-variable name="canaryPercentage" value="@(15)"/>',
    '<choose>',
    '    <when condition="@(new Random().Next(100) < context.Variables.GetValueOrDefault<int>("canaryPercentage"))">',
    '        <set-backend-service base-url="https://canary.example.org"/>',
    '    </when>',
    '</choose>',
  ].join('\n'));
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.expressions, 2);
  const bad = await check('bad.xml', '<set-variable name="a" value="1"/>\n<set-hedaer name="b"/>');
  assert.equal(bad.error?.code, 'unsupported-policy');
  assert.equal(bad.error?.line, 2);
});

test('validate-jwt: an expression in <key>, <audience> or <issuer> is a load error naming the line', async () => {
  const r = await check('jwt.xml', [
    '<policies><inbound><base />',
    '  <validate-jwt header-name="Authorization">',
    '    <issuer-signing-keys>',
    '      <key>@((string)context.Variables["signingKey"])</key>',
    '    </issuer-signing-keys>',
    '  </validate-jwt>',
    '</inbound></policies>',
  ].join('\n'));
  assert.equal(r.error?.code, 'unsupported-expression');
  assert.equal(r.error?.line, 4);
  assert.match(r.error!.message, /<key>/);
});

test('apim check loads a fragment in the section its policies belong to (forward-request: backend)', async () => {
  const r = await check('backend-fragment.xml', [
    '<fragment>',
    '  <retry condition="@(context.Response.StatusCode == 429)" count="3" interval="1">',
    '    <set-variable name="attempt" value="@(context.Variables.GetValueOrDefault<int>(&quot;attempt&quot;) + 1)" />',
    '    <forward-request timeout="120" />',
    '  </retry>',
    '</fragment>',
  ].join('\n'));
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.expressions, 2);
  const mixed = await check('mixed.xml', '<fragment>\n  <forward-request />\n  <set-status code="200" />\n  <validate-jwt header-name="Authorization"><issuer-signing-keys><key>c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==</key></issuer-signing-keys></validate-jwt>\n</fragment>');
  assert.equal(mixed.error?.code, 'misplaced-policy');
  assert.equal(mixed.error?.line, 2, 'the error reported is the one for inbound');
});
