import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { POLICIES, POLICY_BY_NAME } from '../../../src/gateway/policies/index.js';
import { definePolicy, provides, runsBeforeOperation } from '../../../src/gateway/policy.js';

const capabilitiesOf = (name: string) => POLICY_BY_NAME.get(name)!.capabilities;

test('every policy declares its capabilities', () => {
  for (const p of POLICIES) {
    assert.ok(['pipeline', 'before-operation'].includes(p.capabilities.phase), p.name);
    assert.ok(Array.isArray(p.capabilities.provides) && Array.isArray(p.capabilities.requires), p.name);
    assert.ok(Object.isFrozen(p.capabilities), p.name);
  }
});

test('the declared capabilities: cors before operation matching, validate-jwt provides claims, check-claims requires them', () => {
  assert.deepEqual(POLICIES.filter(runsBeforeOperation).map((p) => p.name), ['cors']);
  assert.deepEqual(POLICIES.filter((p) => provides(p, 'claims')).map((p) => p.name), ['validate-jwt']);
  assert.deepEqual(POLICIES.filter((p) => p.capabilities.requires.includes('claims')).map((p) => p.name), ['check-claims']);
  for (const name of ['validate-content', 'validate-parameters', 'validate-headers', 'validate-status-code']) {
    assert.deepEqual(capabilitiesOf(name).requires, ['operation', 'openapi'], name);
  }
  assert.deepEqual(capabilitiesOf('rewrite-uri').requires, ['operation']);
  assert.deepEqual(capabilitiesOf('mock-response').requires, ['operation']);
  assert.deepEqual(capabilitiesOf('rate-limit-by-key'), { phase: 'pipeline', provides: [], requires: [] });
});

test('a policy that runs before operation matching must be inbound only', () => {
  const spec = { name: 'x', description: 'x', schema: z.strictObject({}), capabilities: { phase: 'before-operation' as const }, create: () => () => undefined };
  assert.throws(() => definePolicy({ ...spec, sections: ['inbound', 'outbound'] }), /inbound section only/);
  assert.equal(runsBeforeOperation(definePolicy({ ...spec, sections: ['inbound'] })), true);
});
