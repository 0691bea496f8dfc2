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

test('refuses a duplicate key that follows strings with escaped quotes and backslashes', () => {
  const r = parse('{"a":"x\\"y","b":"\\\\","c":"\\\\\\"","a":2}');
  assert.equal(!r.ok && r.rule, 'duplicate-key');
  assert.equal(!r.ok && r.path, '/a');
});

test('accepts keys that contain backslashes, quotes and colons, and refuses them repeated', () => {
  const ok = parse('{"a\\\\b":1,"a\\\\\\\\b":2,"a\\"b":3,"a:b":4,"a\\u003ab":5}');
  assert.equal(ok.ok, false); // "a:b" and "a\u003ab" are the same key
  assert.equal(!ok.ok && ok.rule, 'duplicate-key');
  const distinct = parse('{"a\\\\b":1,"a\\\\\\\\b":2,"a\\"b":3,"a:b":4,":":{"::":":"}}');
  assert.ok(distinct.ok);
  assert.deepEqual(distinct.value, { 'a\\b': 1, 'a\\\\b': 2, 'a"b': 3, 'a:b': 4, ':': { '::': ':' } });
  assert.equal(((r) => !r.ok && r.rule)(parse('{"a\\\\b":1,"a\\u005cb":2}')), 'duplicate-key');
});

test('refuses a duplicate hidden by colons inside strings and escaped colons', () => {
  // as many raw colons in strings as the duplicate removes: counts must not be fooled
  const r = parse('{"k":"\\u003a","k":":"}');
  assert.equal(!r.ok && r.rule, 'duplicate-key');
  const r2 = parse('{"x":{"k":1,"k":2},"y":"a:b"}');
  assert.equal(!r2.ok && r2.path, '/x/k');
});

test('parses very long strings with escapes and structural characters inside', () => {
  const long = 'x'.repeat(200_000) + '"{[\\]}:,' + 'é'.repeat(50_000) + '\n\t\u2603';
  const text = JSON.stringify({ a: long, b: [long], c: { d: long } });
  const r = parse(text);
  assert.ok(r.ok);
  assert.deepEqual(r.value, JSON.parse(text));
  const dup = parse(text.slice(0, -1) + ',"a":1}');
  assert.equal(!dup.ok && dup.rule, 'duplicate-key');
  assert.equal(!dup.ok && dup.path, '/a');
});

test('accepts 10,000 distinct keys and refuses one repeated among them', () => {
  const o: Record<string, number> = {};
  for (let i = 0; i < 10_000; i++) o[`key-${i}`] = i;
  const text = JSON.stringify(o);
  const r = parse(text);
  assert.ok(r.ok);
  assert.equal(Object.keys(r.value as object).length, 10_000);
  const dup = parse(text.slice(0, -1) + ',"key-5000":0}');
  assert.equal(!dup.ok && dup.rule, 'duplicate-key');
  assert.equal(!dup.ok && dup.path, '/key-5000');
  const escaped = parse(text.slice(0, -1) + ',"\\u006bey-9999":0}');
  assert.equal(!escaped.ok && escaped.path, '/key-9999');
});

test('refuses a duplicate key before a later syntax error, and reports depth before parsing', () => {
  const r = parse('{"a":1,"a":2,}');
  assert.equal(!r.ok && r.rule, 'duplicate-key');
  const deep = parse('{"a":[' + '['.repeat(200) + ']'.repeat(200) + ']}');
  assert.equal(!deep.ok && deep.rule, 'max-depth');
  assert.equal(!deep.ok && deep.path, '/a/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0');
  // unbalanced closers do not hide the depth of what follows
  const r3 = parse(']]]]' + '['.repeat(40));
  assert.equal(!r3.ok && r3.rule, 'max-depth');
});

test('brackets and colons inside strings do not count as structure or keys', () => {
  const inner = '['.repeat(100) + '{'.repeat(100) + ':'.repeat(100);
  const r = parse(JSON.stringify({ s: inner, t: [inner, { u: inner }] }));
  assert.ok(r.ok);
});

test('accepts the same value as JSON.parse for scalars, empty containers and whitespace', () => {
  for (const s of ['1', '"a"', 'null', '[]', '{}', ' { "a" : [ ] , "b" : { } } ', '[{"a":{}},{"a":[]}]']) {
    const r = parse(s);
    assert.ok(r.ok, s);
    assert.deepEqual(r.value, JSON.parse(s));
  }
});

test('finds the end of long strings whatever runs of backslashes precede their quotes', () => {
  for (const n of [1, 2, 3, 4, 23, 24, 25, 47, 48]) {
    for (const tail of ['\\', '\\\\', '"', '\\"', 'a']) {
      const s = 'y'.repeat(n) + tail + '\\'.repeat(n % 5) + 'z'.repeat(30);
      const text = JSON.stringify({ s, k: [s], t: s + tail });
      const r = parse(text);
      assert.ok(r.ok, text);
      assert.deepEqual(r.value, JSON.parse(text));
      const dup = parse(text.slice(0, -1) + ',"k":1}');
      assert.equal(!dup.ok && dup.path, '/k', text);
    }
  }
});
