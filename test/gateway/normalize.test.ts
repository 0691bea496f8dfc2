import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTarget, originForm } from '../../src/gateway/normalize.js';

const ok = (t: string) => {
  const r = normalizeTarget(t);
  assert.ok(r.ok, `${t} should be accepted: ${!r.ok ? r.detail : ''}`);
  return r;
};
const refused = (t: string, code = 'path-invalid') => {
  const r = normalizeTarget(t);
  assert.equal(r.ok, false, `${t} should be refused`);
  if (!r.ok) assert.equal(r.code, code);
};

test('keeps a plain path and splits the query unchanged', () => {
  const r = ok('/orders/7?x=1&y=%20');
  assert.equal(r.path, '/orders/7');
  assert.equal(r.query, 'x=1&y=%20');
});

test('decodes unreserved escapes and upper-cases the rest', () => {
  assert.equal(ok('/%6Frders/%7e%41').path, '/orders/~A');
  assert.equal(ok('/a%2cb%3a').path, '/a%2Cb%3A');
  assert.equal(ok('/caf%c3%a9').path, '/caf%C3%A9');
});

test('collapses empty segments', () => {
  assert.equal(ok('//orders///7').path, '/orders/7');
});

test('removes dot-segments, including encoded ones', () => {
  assert.equal(ok('/a/b/../c/./d').path, '/a/c/d');
  assert.equal(ok('/a/%2e%2E/b').path, '/b');
  assert.equal(ok('/a/b/..').path, '/a/');
  assert.equal(ok('/a/.').path, '/a/');
});

test('keeps a trailing slash', () => {
  assert.equal(ok('/orders/').path, '/orders/');
  assert.equal(ok('/').path, '/');
});

test('refuses dot-segments that climb above the root', () => {
  refused('/..');
  refused('/../etc/passwd');
  refused('/a/../../b');
  refused('/%2e%2e/x');
  refused('/.%2e/x');
});

test('refuses encoded slash, backslash and NUL in any case', () => {
  for (const t of ['/a%2Fb', '/a%2fb', '/a%5Cb', '/a%5cb', '/a%00b', '/a\\b']) refused(t);
});

test('refuses malformed escapes and control characters', () => {
  for (const t of ['/a%zz', '/a%2', '/a%', '/a%0d%0a', '/a\tb', '/a b']) refused(t);
});

test('refuses non-origin targets', () => {
  refused('*', 'request-target-invalid');
  refused('orders', 'request-target-invalid');
  refused('', 'request-target-invalid');
});

test('reports ; path parameters, raw and encoded', () => {
  assert.equal(ok('/a;jsessionid=1/b').hasSemicolon, true);
  assert.equal(ok('/a%3bx').hasSemicolon, true);
  assert.equal(ok('/a/b').hasSemicolon, false);
});

test('absolute-form targets are used only when they name the request host', () => {
  assert.equal(originForm('http://api.example.com/x?y', 'api.example.com'), '/x?y');
  assert.equal(originForm('http://API.example.com', 'api.example.com'), '/');
  assert.equal(originForm('http://other.example.com/x', 'api.example.com'), undefined);
  assert.equal(originForm('http://other.example.com/x', undefined), undefined);
  assert.equal(originForm('/x', 'h'), '/x');
});
