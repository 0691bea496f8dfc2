import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkXml } from '../../../src/gateway/openapi/xml.js';

const check = (s: string, depth = 32) => checkXml(Buffer.from(s), depth);

test('accepts well-formed XML with a declaration, attributes, comments, CDATA and entities', () => {
  assert.deepEqual(check('<?xml version="1.0"?>\n<order id="1" kind=\'a&amp;b\'><!-- c --><line sku="ABC-1234"/><note><![CDATA[<x>]]> &lt; &#233;</note></order>\n'), { ok: true });
});

test('refuses a DOCTYPE (external entities, entity expansion)', () => {
  const r = check('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>');
  assert.equal(!r.ok && r.rule, 'doctype');
});

test('refuses unbalanced, crossed and unclosed tags', () => {
  for (const s of ['<a><b></a></b>', '<a>', '<a></b>', '</a>', '<a></a><b></b>', 'text', '', '<a x=1/>', '<a x="1" x="2"/>', '<a>&bogus;</a>']) {
    assert.equal(check(s).ok, false, s);
  }
});

test('refuses nesting past the depth limit', () => {
  const r = check('<a>'.repeat(50) + '</a>'.repeat(50), 32);
  assert.equal(!r.ok && r.rule, 'max-depth');
});
