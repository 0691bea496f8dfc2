import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiRouter, OperationRouter } from '../../src/gateway/router.js';

test('longest prefix wins and prefixes stop at segment boundaries', () => {
  const r = new ApiRouter<string>();
  r.add('root', '', undefined);
  r.add('orders', '/orders', undefined);
  r.add('orders-v2', '/orders/v2', undefined);
  assert.deepEqual(r.match(undefined, '/orders/7'), { api: 'orders', rest: '/7' });
  assert.deepEqual(r.match(undefined, '/orders'), { api: 'orders', rest: '' });
  assert.deepEqual(r.match(undefined, '/orders/v2/7'), { api: 'orders-v2', rest: '/7' });
  assert.deepEqual(r.match(undefined, '/ordersx'), { api: 'root', rest: '/ordersx' });
  assert.deepEqual(r.match(undefined, '/'), { api: 'root', rest: '/' });
});

test('without a root API an unknown path matches nothing', () => {
  const r = new ApiRouter<string>();
  r.add('orders', '/orders', undefined);
  assert.equal(r.match(undefined, '/ordersx'), undefined);
  assert.equal(r.match(undefined, '/'), undefined);
});

test('host-specific APIs win over host-less ones; wildcards match subdomains only', () => {
  const r = new ApiRouter<string>();
  r.add('any', '/x', undefined);
  r.add('exact', '/x', ['api.example.com']);
  r.add('wild', '/x', ['*.example.com']);
  assert.equal(r.match('api.example.com:8443', '/x/1')?.api, 'exact');
  assert.equal(r.match('API.EXAMPLE.COM', '/x/1')?.api, 'exact');
  assert.equal(r.match('eu.example.com', '/x/1')?.api, 'wild');
  assert.equal(r.match('example.com', '/x/1')?.api, 'any');
  assert.equal(r.match('evil.com', '/x/1')?.api, 'any');
});

test('two APIs with the same path on the same host are refused', () => {
  const r = new ApiRouter<string>();
  r.add('a', '/x', undefined);
  assert.throws(() => r.add('b', '/x', undefined), /same host/);
});

test('routes among 1,000 APIs', () => {
  const r = new ApiRouter<number>();
  for (let i = 0; i < 1000; i++) r.add(i, `/api${i}`, undefined);
  for (const i of [0, 1, 499, 999]) assert.deepEqual(r.match(undefined, `/api${i}/x`), { api: i, rest: '/x' });
});

test('operations match by method and template, with decoded params and HEAD falling back to GET', () => {
  const o = new OperationRouter<string>();
  o.add('GET', '/', 'list');
  o.add('GET', '/{id}', 'get');
  o.add('DELETE', '/{id}', 'delete');
  o.add('GET', '/{order-id}/items/{item.id}', 'item');
  const m = (method: string, path: string) => {
    const r = o.match(method, path);
    return r && { op: r.op, params: { ...r.params } };
  };
  assert.deepEqual(m('GET', ''), { op: 'list', params: {} });
  assert.deepEqual(m('GET', '/7'), { op: 'get', params: { id: '7' } });
  assert.deepEqual(m('HEAD', '/7'), { op: 'get', params: { id: '7' } });
  assert.deepEqual(m('GET', '/a%20b'), { op: 'get', params: { id: 'a b' } });
  assert.deepEqual(m('GET', '/1/items/2'), { op: 'item', params: { 'order-id': '1', 'item.id': '2' } });
  assert.equal(o.match('POST', '/7'), undefined);
  assert.deepEqual(o.allowed('/7').sort(), ['DELETE', 'GET', 'HEAD']);
  assert.deepEqual(o.allowed('/7/nothing'), []);
});
