import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHeader } from '../../../src/gateway/policies/check-header.js';
import { build, exchange, run } from '../jwt/context.js';

test('passes with an accepted value and refuses others with header-check-failed', async () => {
  const h = await build(checkHeader, { name: 'X-Tenant', values: ['contoso', 'fabrikam'] });
  assert.equal(await run(h, exchange({ headers: [['X-Tenant', 'contoso']] })), undefined);
  for (const headers of [[['X-Tenant', 'Contoso']], [['X-Tenant', 'evil']], [], [['X-Tenant', '']]] as Array<Array<[string, string]>>) {
    const r = await run(h, exchange({ headers }));
    assert.equal(r?.status, 403, JSON.stringify(headers));
    assert.equal(r?.problem?.code, 'header-check-failed');
  }
});

test('ignore-case compares case-insensitively', async () => {
  const h = await build(checkHeader, { name: 'x-tenant', values: ['Contoso'], 'ignore-case': true });
  assert.equal(await run(h, exchange({ headers: [['X-TENANT', 'CONTOSO']] })), undefined);
});

test('a repeated header passes only when every occurrence is accepted', async () => {
  const h = await build(checkHeader, { name: 'X-Tenant', values: ['contoso'] });
  assert.equal(await run(h, exchange({ headers: [['X-Tenant', 'contoso'], ['x-tenant', 'contoso']] })), undefined);
  assert.equal((await run(h, exchange({ headers: [['X-Tenant', 'contoso'], ['x-tenant', 'evil']] })))?.status, 403);
  assert.equal((await run(h, exchange({ headers: [['X-Tenant', 'evil'], ['x-tenant', 'contoso']] })))?.status, 403);
});

test('without values the header only has to be present', async () => {
  const h = await build(checkHeader, { name: 'X-Api-Version', 'failed-check-httpcode': 400, 'failed-check-error-message': 'Send X-Api-Version.' });
  assert.equal(await run(h, exchange({ headers: [['X-Api-Version', '2']] })), undefined);
  const r = await run(h, exchange());
  assert.equal(r?.status, 400);
  assert.equal(r?.problem?.detail, 'Send X-Api-Version.');
});

test('the schema refuses invalid header names and unknown keys', () => {
  assert.throws(() => checkHeader.schema.parse({ name: 'Bad Name' }));
  assert.throws(() => checkHeader.schema.parse({ name: 'X', value: 'a' }));
});
