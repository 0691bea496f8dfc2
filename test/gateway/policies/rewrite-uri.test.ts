import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteUri } from '../../../src/gateway/policies/rewrite-uri.js';
import { ConfigError } from '../../../src/config/errors.js';
import { policyContext } from '../../helpers/policy-context.js';
import { build, exchange, run } from '../jwt/context.js';

const onOperation = (template = '/things/{id}') => policyContext({ operation: { id: 'get-thing', method: 'GET', template } });

test('builds the backend path from the operation path parameters and keeps the request query', async () => {
  const h = await build(rewriteUri, { template: '/v2/things/{id}?src=gw' }, onOperation());
  const ex = exchange({ path: '/orders/things/7', query: 'a=1&src=client' });
  ex.params = { id: '7' };
  assert.equal(await run(h, ex), undefined);
  assert.equal(ex.backendPath, '/v2/things/7');
  assert.equal(ex.backendQuery, 'src=gw&a=1', 'the template sets src; the client\'s src is dropped, the rest kept');
});

test('a decoded parameter is re-encoded, so it cannot add a path segment or a query', async () => {
  const h = await build(rewriteUri, { template: '/v2/things/{id}' }, onOperation());
  const ex = exchange();
  ex.params = { id: '../admin/x?y=1#z' };
  await run(h, ex);
  assert.equal(ex.backendPath, '/v2/things/..%2Fadmin%2Fx%3Fy%3D1%23z');
  assert.equal(ex.backendQuery, undefined, 'the query is untouched');
});

test('copy-unmatched-params false sends only the template query', async () => {
  const h = await build(rewriteUri, { template: '/v2/things', 'copy-unmatched-params': false }, onOperation());
  const ex = exchange({ query: 'a=1' });
  await run(h, ex);
  assert.equal(ex.backendPath, '/v2/things');
  assert.equal(ex.backendQuery, '');
});

test('a template without parameters works without an operation', async () => {
  const h = await build(rewriteUri, { template: '/fixed' });
  const ex = exchange({ query: 'q=1' });
  await run(h, ex);
  assert.equal(ex.backendPath, '/fixed');
  assert.equal(ex.backendQuery, undefined);
});

test('parameters the operation does not have, or no operation at all, are refused at load', async () => {
  await assert.rejects(build(rewriteUri, { template: '/v2/{nope}' }, onOperation()), (e: unknown) => e instanceof ConfigError && /not a parameter of GET \/things\/\{id\}/.test(e.message) && e.path.join('.') === 'template');
  await assert.rejects(build(rewriteUri, { template: '/v2/{id}' }), (e: unknown) => e instanceof ConfigError && /need an operation/.test(e.message));
  assert.throws(() => rewriteUri.schema.parse({ template: 'relative' }));
});
