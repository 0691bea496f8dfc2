import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipFilter } from '../../../src/gateway/policies/ip-filter.js';
import { ConfigError } from '../../../src/config/errors.js';
import { build, exchange, run } from '../jwt/context.js';

test('allow: only listed callers pass', async () => {
  const h = await build(ipFilter, { action: 'allow', addresses: ['10.0.0.0/8', '2001:db8::/32'], 'address-ranges': [{ from: '192.0.2.10', to: '192.0.2.20' }] });
  for (const ip of ['10.1.2.3', '2001:db8::7', '192.0.2.15']) assert.equal(await run(h, exchange({ clientIp: ip })), undefined, ip);
  for (const ip of ['11.0.0.1', '2001:db9::1', '192.0.2.21', '']) {
    const r = await run(h, exchange({ clientIp: ip }));
    assert.equal(r?.status, 403, ip);
    assert.equal(r?.problem?.code, 'caller-ip-not-allowed');
  }
});

test('forbid: listed callers are refused, IPv4-mapped IPv6 included', async () => {
  const h = await build(ipFilter, { action: 'forbid', addresses: ['203.0.113.7'] });
  assert.equal((await run(h, exchange({ clientIp: '203.0.113.7' })))?.status, 403);
  assert.equal((await run(h, exchange({ clientIp: '::ffff:203.0.113.7' })))?.status, 403);
  assert.equal(await run(h, exchange({ clientIp: '203.0.113.8' })), undefined);
});

test('status and message are configurable', async () => {
  const h = await build(ipFilter, { action: 'allow', addresses: ['10.0.0.1'], 'failed-check-httpcode': 404, 'failed-check-error-message': 'Not here.' });
  const r = await run(h, exchange({ clientIp: '10.0.0.2' }));
  assert.equal(r?.status, 404);
  assert.equal(r?.problem?.detail, 'Not here.');
});

test('a bad entry is a ConfigError naming it; an empty list is refused', async () => {
  await assert.rejects(build(ipFilter, { action: 'allow', addresses: ['10.0.0.1', '10.0.0.0/40'] }), (e: unknown) => e instanceof ConfigError && e.path.join('.') === 'addresses.1');
  await assert.rejects(build(ipFilter, { action: 'allow', 'address-ranges': [{ from: '10.0.0.9', to: '10.0.0.1' }] }), (e: unknown) => e instanceof ConfigError && e.path.join('.') === 'address-ranges.0.to');
  await assert.rejects(build(ipFilter, { action: 'allow' }), ConfigError);
  assert.throws(() => ipFilter.schema.parse({ action: 'deny', addresses: [] }));
});
