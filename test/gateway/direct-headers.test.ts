import { test } from 'node:test';
import assert from 'node:assert/strict';
import { util } from 'undici';
import { DirectResponse } from '../../src/gateway/direct.js';
import { downstreamResponseHeaders } from '../../src/gateway/headers.js';
import { CancelSignal } from '../../src/gateway/exchange.js';

/** The headers DirectResponse builds from raw pairs, as the client gets them. */
function direct(raw: Buffer[]): Record<string, unknown> {
  const r = new DirectResponse(new CancelSignal());
  r.onHeaders(200, raw, () => {});
  return r.headers as Record<string, unknown>;
}

const pairs = (...kv: string[]) => kv.map((s) => Buffer.from(s, 'latin1'));

test('response headers from raw pairs: the same as parsing, then leaving out hop-by-hop headers', () => {
  const cases = [
    pairs('Content-Type', 'text/plain', 'Content-Length', '5', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5'),
    pairs('Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'SET-COOKIE', 'c=3', 'X-A', '1', 'x-a', '2'),
    pairs('Connection', 'X-Secret, close', 'X-Secret', 'no', 'X-Other', 'yes', 'Transfer-Encoding', 'chunked'),
    pairs('Connection', 'x-a', 'connection', 'X-B', 'x-a', '1', 'x-b', '2', 'x-c', '3'),
    pairs('constructor', 'c', 'toString', 't', 'Upgrade', 'h2c', 'Proxy-Authenticate', 'Basic', 'Trailer', 'x'),
    pairs('Connection', 'content-type', 'Content-Type', 'text/html', 'Date', 'Sun, 29 Nov 2026 20:00:00 GMT'),
    pairs('x-é', '\u00e9t\u00e9'),
  ];
  for (const raw of cases) {
    const want = downstreamResponseHeaders(util.parseHeaders(raw) as Record<string, string | string[]>);
    assert.deepEqual(Object.entries(direct(raw)), Object.entries(want));
  }
});

test('a header named __proto__ is not forwarded and sets no prototype', () => {
  const h = direct(pairs('__proto__', 'x', '__proto__', 'y', 'a', 'b'));
  assert.deepEqual(Object.keys(h), ['a']);
  assert.equal(Object.getPrototypeOf(h), Object.prototype);
});
