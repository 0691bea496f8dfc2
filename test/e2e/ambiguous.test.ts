import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { assertProblem, parseResponses, rawConnect, rawRequest, readUntil, sleep, waitFor, watchBackend, type RawExchange } from '../helpers/raw.js';

/**
 * Ambiguous and malformed requests, sent byte for byte over raw TCP. Each must be answered by
 * the gateway itself (problem+json with a request id) and never reach the backend: a request
 * whose framing or target two servers could read differently is refused, not guessed at.
 */

const HOST = 'gw.test';
const BODY_LIMIT = 1024;

let gw: RunningGateway;
let backend: TestBackend;
let seen: ReturnType<typeof watchBackend>;

before(async () => {
  backend = await startBackend();
  seen = watchBackend(backend.server);
  gw = await startGateway(`
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
  limits:
    max-url-length: 2kb
    max-header-size: 8kb
backends:
  echo: { url: ${backend.url}/api }
apis:
  - name: params
    path: /params
    backend: echo
    allow-path-parameters: true
  - name: main
    path: /
    backend: echo
    max-body-size: ${BODY_LIMIT}
`);
});

after(async () => {
  await gw?.stop();
  await backend?.close();
});

/** Send raw bytes; expect exactly one problem response with `status`, and nothing at the backend. */
async function refused(data: string | Buffer | Array<string | Buffer>, status: number | number[], code?: string | RegExp, opts: { closes?: boolean } = {}): Promise<RawExchange> {
  const before = seen.requests.length;
  const r = await rawRequest(gw.port, data, { idleMs: 1500 });
  assert.equal(r.responses.length, 1, `expected exactly one response, got ${r.responses.length}:\n${r.raw.toString('latin1').slice(0, 600)}`);
  assertProblem(r.responses[0]!, status, code);
  if (opts.closes !== false) assert.ok(r.closed, 'the gateway closes the connection after refusing the request framing');
  await sleep(150);
  assert.equal(seen.requests.length, before, `the backend received ${seen.requests.slice(before).map((x) => `${x.method} ${x.url}`).join(', ')}`);
  return r;
}

/** Send raw bytes; expect one 2xx from the backend; returns the URL the backend saw. */
async function served(data: string): Promise<string> {
  const before = seen.requests.length;
  const r = await rawRequest(gw.port, data, { idleMs: 1500 });
  assert.ok(r.responses.length >= 1, `no response: ${r.raw.toString('latin1')}`);
  const res = r.responses[0]!;
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(seen.requests.length, before + 1);
  return seen.requests[before]!.url;
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\n${extra}Connection: close\r\n\r\n`;

describe('request framing (Content-Length / Transfer-Encoding)', () => {
  it('refuses a request with both Content-Length and Transfer-Encoding', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400);
  });

  it('refuses a duplicate Content-Length with the same value', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400);
  });

  it('refuses a duplicate Content-Length with different values', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400);
  });

  it('refuses a Content-Length list ("5, 5") in one header', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5, 5\r\n\r\nhello`, 400);
  });

  for (const bad of ['abc', '-1', '+5', '5 5', '0x10', '1e3', '99999999999999999999999']) {
    it(`refuses an invalid Content-Length ${JSON.stringify(bad)}`, async () => {
      await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${bad}\r\n\r\nhello`, [400, 413]);
    });
  }

  it('refuses Transfer-Encoding with a coding after chunked ("chunked, gzip")', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, 400);
  });

  it('refuses Transfer-Encoding with another coding before chunked ("gzip, chunked")', async () => {
    // the gateway cannot forward a gzip transfer coding it does not decode: 400 or 501, never forwarded
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, [400, 501]);
  });

  it('refuses a chunk size that overflows', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n0\r\n\r\n`, 400);
  });

  it('refuses a CL.TE smuggling attempt and no second request comes out of its body', async () => {
    const smuggled = `GET /admin HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`, 400);
  });

  it('refuses a TE.CL smuggling attempt', async () => {
    const inner = `GET /admin HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`, 400);
  });

  it('refuses TE.TE with an obfuscated "Transfer-Encoding : chunked" (space before the colon)', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 400);
  });

  it('refuses TE.TE with "Transfer-Encoding: xchunked"', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, 400);
  });

  it('refuses TE.TE with "chunked" and "xchunked" in two Transfer-Encoding headers', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, 400);
  });

  it('refuses TE.TE with a tab-obfuscated "Transfer-Encoding:\\tchunked" next to a Content-Length', async () => {
    await refused(`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n`, 400);
  });
});

describe('headers', () => {
  it('refuses a duplicate Host header', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nHost: other.test\r\n\r\n`, 400, 'request-ambiguous', { closes: false });
  });

  it('refuses a duplicate Host header spelled with another case', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nhOsT: ${HOST}\r\n\r\n`, 400, 'request-ambiguous', { closes: false });
  });

  it('refuses an HTTP/1.1 request without Host', async () => {
    await refused(`GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n`, 400, undefined, { closes: false });
  });

  it('refuses a NUL byte in a header value', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\0b\r\n\r\n`, 400);
  });

  it('refuses a bare CR inside a header value', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\rX-Injected: 1\r\n\r\n`, 400);
  });

  it('refuses an invalid byte in a header name', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX(A): 1\r\n\r\n`, 400);
  });

  it('refuses obs-fold (a header line starting with a space)', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\r\n folded\r\n\r\n`, 400);
  });

  it('refuses obs-fold (a header line starting with a tab)', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a\r\n\tfolded\r\n\r\n`, 400);
  });

  it('refuses a request whose lines end with a bare LF', async () => {
    await refused(`GET /x HTTP/1.1\nHost: ${HOST}\nX-A: 1\n\n`, 400);
  });

  it('refuses a header block with a bare LF in the middle', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\nX-A: 1\r\n\r\n`, 400);
  });

  it('answers headers larger than the limit with 431', async () => {
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(10 * 1024)}\r\n\r\n`, 431);
  });

  it('answers many small headers adding up past the limit with 431', async () => {
    let h = '';
    for (let i = 0; i < 400; i++) h += `X-H${i}: ${'v'.repeat(20)}\r\n`;
    await refused(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\n${h}\r\n`, 431);
  });
});

describe('request target', () => {
  for (const [name, target] of [
    ['an encoded slash %2F', '/files%2Fetc%2Fpasswd'],
    ['an encoded slash %2f (lower case)', '/files%2fetc'],
    ['an encoded backslash %5C', '/files%5C..%5Cetc'],
    ['an encoded backslash %5c (lower case)', '/files%5cetc'],
    ['an encoded NUL %00', '/files%00.json'],
    ['a raw backslash', '/files\\etc'],
    ['"/../" escaping the root', '/../etc/passwd'],
    ['dot-segments climbing above the root', '/a/../../etc/passwd'],
    ['"%2e%2e" escaping the root', '/%2e%2e/etc/passwd'],
    ['"%2E%2E" mixed with real segments escaping the root', '/a/%2E%2E/%2e%2e/etc'],
    ['".%2e" escaping the root', '/.%2e/etc'],
    ['a malformed percent-escape', '/files%zz'],
    ['an encoded control character', '/files%0d%0aX-Injected:%201'],
  ] as const) {
    it(`refuses a path with ${name}`, async () => {
      await refused(get(target), 400, /path-invalid|request-target-invalid/);
    });
  }

  it('refuses ";" path parameters by default', async () => {
    await refused(get('/x;jsessionid=1'), 400, 'path-invalid');
  });

  it('refuses an encoded ";" (%3B) path parameter by default', async () => {
    await refused(get('/x%3Bjsessionid=1'), 400, 'path-invalid');
  });

  it('serves ";" path parameters on an API with allow-path-parameters: true', async () => {
    const url = await served(get('/params/x;v=1'));
    assert.equal(url, '/api/x;v=1');
  });

  it('removes dot-segments that stay inside the root before routing and forwarding', async () => {
    const url = await served(get('/a/./b/../c?q=1'));
    assert.equal(url, '/api/a/c?q=1');
  });

  it('decodes percent-encoded unreserved characters before routing', async () => {
    const url = await served(get('/%70arams/x'));
    assert.equal(url, '/api/x', 'routed to the params API whose prefix is /params');
  });

  it('routes %2e%2e inside the root the same way as ..', async () => {
    const url = await served(get('/params/a/%2e%2e/b'));
    assert.equal(url, '/api/b');
  });

  it('collapses duplicate slashes', async () => {
    const url = await served(get('//params//x'));
    assert.equal(url, '/api/x');
  });

  it('refuses an absolute-form target naming another host', async () => {
    await refused(`GET http://evil.test/x HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, 400);
  });

  it('refuses an absolute-form target naming another host even when the path would be valid for the Host', async () => {
    await refused(`GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, 400);
  });

  it('serves an absolute-form target naming the same host as the Host header', async () => {
    const url = await served(`GET http://${HOST}/params/x?y=1 HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
    assert.equal(url, '/api/x?y=1');
  });

  it('refuses an absolute-form target whose path escapes the root', async () => {
    await refused(`GET http://${HOST}/../etc HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, 400);
  });

  it('answers 414 for a URL longer than max-url-length', async () => {
    await refused(get('/x?' + 'a'.repeat(3 * 1024)), 414, 'url-too-long', { closes: false });
  });

  it('answers 414 for a URL longer than the whole header limit', async () => {
    await refused(get('/x?' + 'a'.repeat(12 * 1024)), 414, 'url-too-long');
  });
});

describe('request body size', () => {
  it('answers 413 when Content-Length is above the API limit, and the unread body is never parsed as a request', async () => {
    const smuggled = `GET /smuggled-after-413 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const body = smuggled + 'a'.repeat(BODY_LIMIT * 4 - smuggled.length);
    await refused([`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${body.length}\r\n\r\n`, body], 413, 'body-too-large', { closes: false });
    assert.ok(!seen.requests.some((r) => r.url.includes('smuggled')));
  });

  it('does not parse the body of a request refused before its body was read as the next request', async () => {
    const smuggled = `GET /smuggled-after-400 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    await refused(`POST /x;p=1 HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`, 400, 'path-invalid', { closes: false });
    assert.ok(!seen.requests.some((r) => r.url.includes('smuggled')));
  });

  it('answers 413 to a chunked body that grows past the limit, and the backend never gets a complete body', async () => {
    const before = seen.requests.length;
    const chunk = 'b'.repeat(512);
    const pieces: string[] = [`POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n`];
    for (let i = 0; i < 8; i++) pieces.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    pieces.push('0\r\n\r\n');
    const r = await rawRequest(gw.port, pieces, { gapMs: 30, idleMs: 2000 });
    assert.ok(r.responses.length >= 1, `no response: ${r.raw.toString('latin1').slice(0, 300)}`);
    assertProblem(r.responses[0]!, 413, 'body-too-large');
    await sleep(200);
    for (const req of seen.requests.slice(before)) {
      assert.equal(req.complete, false, 'the backend never receives the whole over-limit body');
      assert.ok(req.bytes <= BODY_LIMIT, `the backend received ${req.bytes} bytes, more than the limit`);
    }
  });

  it('forwards a chunked body under the limit', async () => {
    const before = seen.requests.length;
    const r = await rawRequest(gw.port, `POST /x HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    assert.equal(r.responses[0]?.status, 200);
    assert.equal(seen.requests.length, before + 1);
    assert.equal(backend.requests.at(-1)!.body.toString(), 'hello');
  });
});

describe('the gateway survives all of the above', () => {
  it('still serves a plain request on the same process', async () => {
    const res = await fetch(`${gw.url}/params/ok`);
    assert.equal(res.status, 200);
    assert.equal(gw.proc.exitCode, null);
  });
});

describe('slow clients (slowloris)', () => {
  let sgw: RunningGateway;
  before(async () => {
    sgw = await startGateway(`
gateway:
  listen: { http: 0 }
  limits:
    header-timeout: 1s
    keep-alive-timeout: 1s
backends:
  echo: { url: ${backend.url}/api }
apis:
  - { name: main, path: /, backend: echo }
`);
  });
  after(async () => { await sgw?.stop(); });

  it('closes a connection whose headers trickle in past header-timeout, with a 408 problem', { timeout: 60_000 }, async () => {
    const before = seen.requests.length;
    const s = await rawConnect(sgw.port);
    const chunks: Buffer[] = [];
    let closed = false;
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => { closed = true; });
    s.on('error', () => {});
    s.write(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `);
    // one byte every 250 ms for up to 20 s: 20 times header-timeout
    for (let i = 0; i < 80 && !closed; i++) {
      s.write('a');
      await sleep(250);
    }
    const wasClosed = closed;
    s.destroy();
    assert.ok(wasClosed, 'the gateway closed the connection of a client that never finished its headers');
    const res = parseResponses(Buffer.concat(chunks));
    if (res.length) assertProblem(res[0]!, 408, 'request-timeout');
    assert.equal(seen.requests.length, before);
  });

  it('closes an idle keep-alive connection after keep-alive-timeout', { timeout: 30_000 }, async () => {
    const s = await rawConnect(sgw.port);
    let closed = false;
    s.on('close', () => { closed = true; });
    s.on('error', () => {});
    s.write(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    await readUntil(s, (b) => b.includes('\r\n\r\n'));
    await waitFor(() => closed, 15_000, 'the idle connection to be closed');
  });
});
