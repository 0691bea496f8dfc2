import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson } from '../../../src/gateway/openapi/json.js';

const parse = (s: string | Buffer, depth = 32) => parseJson(Buffer.isBuffer(s) ? s : Buffer.from(s), depth);

test('parses a valid document into the same value as JSON.parse', () => {
  const text = JSON.stringify({ a: [1, { b: 'x"y\\z', c: null }], 'k"ey': true, é: 'ü' });
  const r = parse(text);
  assert.ok(r.ok);
  assert.deepEqual(r.value, JSON.parse(text));
});

test('refuses a duplicate key and points at it', () => {
  const r = parse('{"a":1,"b":[1,{"role":"user","role":"admin"}]}');
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.rule, 'duplicate-key');
  assert.equal(!r.ok && r.path, '/b/1/role');
});

test('refuses a duplicate key spelled with a unicode escape', () => {
  const r = parse('{"role":"user","\\u0072ole":"admin"}');
  assert.equal(!r.ok && r.rule, 'duplicate-key');
});

test('refuses a duplicate non-ASCII key spelled once raw and once escaped', () => {
  const r = parse('{"é":1,"\\u00e9":2}');
  assert.equal(!r.ok && r.rule, 'duplicate-key');
});

test('does not take escaped quotes and backslashes inside strings for structure', () => {
  const r = parse('{"a":"\\\\","b":"\\"a\\":1,","c":"{[","d":1}');
  assert.ok(r.ok);
});

test('accepts the same key in sibling objects', () => {
  assert.ok(parse('[{"id":1},{"id":2}]').ok);
  assert.ok(parse('{"a":{"id":1},"b":{"id":2}}').ok);
});

test('refuses 100 levels of nesting with the default depth', () => {
  const r = parse('['.repeat(100) + ']'.repeat(100));
  assert.equal(!r.ok && r.rule, 'max-depth');
  const o = parse('{"a":'.repeat(100) + '1' + '}'.repeat(100));
  assert.equal(!o.ok && o.rule, 'max-depth');
});

test('accepts nesting exactly at the limit', () => {
  assert.ok(parse('['.repeat(32) + ']'.repeat(32)).ok);
  assert.equal(parse('['.repeat(33) + ']'.repeat(33)).ok, false);
});

test('refuses invalid JSON with a syntax error', () => {
  for (const s of ['{"a":1,}', '{a:1}', "{'a':1}", '[1,2', '', 'NaN', '{"a":"unterminated}']) {
    const r = parse(s);
    assert.equal(!r.ok && r.rule, 'syntax', s);
  }
});

test('refuses bytes that are not UTF-8 and a byte-order mark', () => {
  const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  assert.equal(((r) => !r.ok && r.rule)(parse(bad)), 'encoding');
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]);
  assert.equal(((r) => !r.ok && r.rule)(parse(bom)), 'syntax');
});

test('a __proto__ key becomes an own property, not the prototype', () => {
  const r = parse('{"__proto__":{"admin":true}}');
  assert.ok(r.ok);
  assert.equal(({} as Record<string, unknown>).admin, undefined);
  assert.ok(Object.prototype.hasOwnProperty.call(r.value, '__proto__'));
});
