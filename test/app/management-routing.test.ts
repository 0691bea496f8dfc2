import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, ok } from '../../src/app/management/routing.js';
import { ManagementProblem } from '../../src/app/management/http.js';
import { RecentErrors } from '../../src/gateway/recent-errors.js';

test('the route table matches literals and captures parameters; an unknown path or method is a 404 problem', async () => {
  const table = new RouteTable([
    { method: 'GET', path: '/users/{id}', handler: async (c) => ok(c.params) },
    { method: 'POST', path: '/users/{id}/lock', handler: async () => ok('locked') },
    { method: 'POST', path: '/keys/rotate', handler: async () => ok('rotated') },
  ]);
  assert.deepEqual(table.find('GET', ['users', 'a b']).params, { id: 'a b' });
  assert.equal(table.find('POST', ['users', 'x', 'lock']).route.path, '/users/{id}/lock');
  const refused = (method: string, segments: string[]) => {
    try { table.find(method, segments); } catch (e) { return e instanceof ManagementProblem ? `${e.code}: ${e.detail}` : 'other'; }
    return 'found';
  };
  assert.match(refused('DELETE', ['users', 'x']), /^management-not-found: The method DELETE/);
  assert.match(refused('GET', ['users', 'x', 'unlock']), /^management-not-found: No such/);
  assert.match(refused('GET', ['keys', 'rotate']), /method GET/);
  assert.match(refused('GET', []), /No such/);
});

test('recent errors: a bounded ring, newest first, holding no more than it is given', () => {
  const ring = new RecentErrors(3);
  assert.deepEqual(ring.list(), []);
  for (let i = 1; i <= 5; i++) ring.push({ requestId: `r${i}`, api: i % 2 ? 'orders' : undefined, operation: undefined, status: 500 + i, code: undefined });
  const list = ring.list();
  assert.deepEqual(list.map((e) => e.requestId), ['r5', 'r4', 'r3']);
  assert.deepEqual(Object.keys(list[1]!).sort(), ['at', 'requestId', 'status']);
  assert.equal(list[0]!.api, 'orders');
});
