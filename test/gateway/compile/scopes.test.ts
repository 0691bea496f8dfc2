import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expandScope, expandSection, globalScope, NO_REFS, type Ref } from '../../../src/gateway/compile/scopes.js';
import type { PolicyEntry } from '../../../src/gateway/schema.js';

const policy = (name: string): PolicyEntry => ({ kind: 'policy', name, config: {} });
const BASE: PolicyEntry = { kind: 'base' };
const SKIP: PolicyEntry = { kind: 'skip-base' };
const outer = (...names: string[]): Ref[] => names.map((name, i) => ({ name, config: {}, path: ['policies', 'inbound', i, name] }));
const names = (refs: Ref[]) => refs.map((r) => r.name);

function collect() {
  const issues: Array<{ path: string; message: string }> = [];
  return { issues, fail: (path: ReadonlyArray<string | number>, message: string) => issues.push({ path: path.join('.'), message }) };
}

describe('scope expansion with base', () => {
  it('a section that is not given inherits the outer scope as it is', () => {
    const { issues, fail } = collect();
    const o = outer('ip-filter', 'validate-jwt');
    assert.deepEqual(expandSection(undefined, ['apis', 0, 'policies', 'inbound'], o, fail), o);
    assert.deepEqual(issues, []);
  });

  it('runs the outer policies where base stands, before and after the inner ones', () => {
    const { issues, fail } = collect();
    const r = expandSection([policy('set-header'), BASE, policy('check-claims')], ['apis', 0, 'policies', 'inbound'], outer('ip-filter'), fail);
    assert.deepEqual(names(r), ['set-header', 'ip-filter', 'check-claims']);
    assert.deepEqual(issues, []);
  });

  it('locates inner policies by section and index, outer ones keep their own place', () => {
    const { fail } = collect();
    const r = expandSection([BASE, policy('cors')], ['apis', 3, 'policies', 'inbound'], outer('ip-filter'), fail);
    assert.deepEqual(r.map((x) => x.path.join('.')), ['policies.inbound.0.ip-filter', 'apis.3.policies.inbound.1.cors']);
  });

  it('refuses a section that drops the outer policies silently, naming them and the way out', () => {
    const { issues, fail } = collect();
    const r = expandSection([policy('set-header')], ['apis', 0, 'policies', 'inbound'], outer('ip-filter', 'validate-jwt'), fail);
    assert.deepEqual(names(r), ['set-header']);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'apis.0.policies.inbound');
    assert.match(issues[0]!.message, /ip-filter, validate-jwt/);
    assert.match(issues[0]!.message, /- base: skip/);
  });

  it('base: skip leaves the outer policies out on purpose, without an error', () => {
    const { issues, fail } = collect();
    assert.deepEqual(names(expandSection([SKIP, policy('set-header')], ['x'], outer('ip-filter'), fail)), ['set-header']);
    assert.deepEqual(issues, []);
  });

  it('omitting base is fine when the outer scope has nothing in that section', () => {
    const { issues, fail } = collect();
    assert.deepEqual(names(expandSection([policy('set-header')], ['x'], [], fail)), ['set-header']);
    assert.deepEqual(issues, []);
  });

  it('expands three scopes in order: global → API → operation', () => {
    const { issues, fail } = collect();
    const global = globalScope({ inbound: [policy('ip-filter')] }, fail);
    const api = expandScope({ inbound: [BASE, policy('validate-jwt')] }, ['apis', 0, 'policies'], global, fail);
    const op = expandScope({ inbound: [BASE, policy('check-claims')], outbound: [policy('set-header')] }, ['apis', 0, 'operations', 0, 'policies'], api, fail);
    assert.deepEqual(names(op.inbound), ['ip-filter', 'validate-jwt', 'check-claims']);
    assert.deepEqual(names(op.outbound), ['set-header']);
    assert.deepEqual(op.backend, []);
    assert.deepEqual(issues, []);
  });

  it('refuses base in the global scope, which has no outer scope', () => {
    const { issues, fail } = collect();
    globalScope({ inbound: [BASE, policy('ip-filter')], outbound: [SKIP] }, fail);
    assert.deepEqual(issues.map((i) => i.path), ['policies.inbound', 'policies.outbound']);
    assert.match(issues[0]!.message, /no outer scope/);
  });

  it('the empty outer scope has every section, all empty', () => {
    assert.deepEqual(Object.keys(NO_REFS).sort(), ['backend', 'inbound', 'on-error', 'outbound']);
  });
});
