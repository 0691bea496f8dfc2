import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackendService } from '../../../src/gateway/policies/set-backend-service.js';
import { ConfigError } from '../../../src/config/errors.js';
import { policyContext } from '../../helpers/policy-context.js';
import { build, exchange, run } from '../jwt/context.js';

const backends = { orders: { name: 'orders' }, 'orders-v2': { name: 'orders-v2' } } as const;
const ctx = () => policyContext({ backend: (name) => (backends as Record<string, { name: string } | undefined>)[name] });

test('sends the request to the named backend and continues', async () => {
  const h = await build(setBackendService, { 'backend-id': 'orders-v2' }, ctx());
  const ex = exchange();
  ex.backend = backends.orders;
  assert.equal(await run(h, ex), undefined);
  assert.equal(ex.backend, backends['orders-v2']);
});

test('a backend that is not declared is refused at load, naming backend-id', async () => {
  await assert.rejects(build(setBackendService, { 'backend-id': 'nope' }, ctx()), (e: unknown) => e instanceof ConfigError && e.path.join('.') === 'backend-id' && /no backend named "nope"/.test(e.message));
});
