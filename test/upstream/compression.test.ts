import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Compressor, negotiate } from '../../src/upstream/compression.js';
import { UpstreamConfigError } from '../../src/upstream/targets.js';
import type { HeaderMap } from '../../src/upstream/cache-semantics.js';

const c = new Compressor();
const json = (extra: HeaderMap = {}) => ({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': '5000', etag: '"abc"', 'accept-ranges': 'bytes', ...extra } });
const req = (ae: string | undefined, method = 'GET') => ({ method, headers: ae === undefined ? {} : { 'accept-encoding': ae } });

describe('Accept-Encoding negotiation', () => {
  it('takes the highest q, the server order (br first) on ties, and refuses q=0', () => {
    const both = ['br', 'gzip'] as const;
    assert.equal(negotiate('gzip, deflate, br', both), 'br');
    assert.equal(negotiate('gzip;q=1.0, br;q=0.5', both), 'gzip');
    assert.equal(negotiate('br;q=0, gzip', both), 'gzip');
    assert.equal(negotiate('*', both), 'br');
    assert.equal(negotiate('*;q=0.5, br;q=0', both), 'gzip', '* covers what is not named');
    assert.equal(negotiate('x-gzip', both), 'gzip');
    assert.equal(negotiate('GZIP;Q=0.8', both), 'gzip');
    assert.equal(negotiate('deflate, identity', both), undefined);
    assert.equal(negotiate('', both), undefined);
    assert.equal(negotiate(undefined, both), undefined);
    assert.equal(negotiate('br;q=2, gzip;q=0.1', both), 'gzip', 'an invalid q is not acceptable');
    assert.equal(negotiate('br', ['gzip']), undefined, 'only what the server offers');
  });
});

describe('compression decisions', () => {
  it('compresses a large JSON response for a client that accepts br, with the header changes', () => {
    const p = c.plan(req('gzip, br'), json({ vary: 'Origin' }));
    assert.equal(p.encoding, 'br');
    assert.equal(p.headers['content-encoding'], 'br');
    assert.equal(p.headers['content-length'], undefined);
    assert.equal(p.headers['accept-ranges'], undefined);
    assert.equal(p.headers.etag, 'W/"abc"');
    assert.equal(p.headers.vary, 'Origin, Accept-Encoding');
    assert.equal(c.plan(req('gzip'), json({ etag: 'W/"w"' })).headers.etag, 'W/"w"', 'a weak ETag stays as it is');
  });

  it('does not compress, and says why', () => {
    const cases: Array<[string, ReturnType<Compressor['plan']>]> = [
      ['no-body', c.plan(req('br', 'HEAD'), json())],
      ['no-body', c.plan(req('br'), { status: 204, headers: {} })],
      ['no-body', c.plan(req('br'), { status: 304, headers: json().headers })],
      ['no-body', c.plan(req('br'), { status: 103, headers: json().headers })],
      ['partial', c.plan(req('br'), { status: 206, headers: json().headers })],
      ['encoded', c.plan(req('br'), json({ 'content-encoding': 'gzip' }))],
      ['no-transform', c.plan(req('br'), json({ 'cache-control': 'public, no-transform' }))],
      ['type', c.plan(req('br'), json({ 'content-type': 'image/png' }))],
      ['type', c.plan(req('br'), json({ 'content-type': undefined }))],
      ['type', c.plan(req('br'), json({ 'content-type': 'text/event-stream' }))],
      ['size', c.plan(req('br'), json({ 'content-length': '1023' }))],
      ['not-accepted', c.plan(req(undefined), json())],
      ['not-accepted', c.plan(req('identity'), json())],
    ];
    for (const [reason, p] of cases) {
      assert.equal(p.reason, reason);
      assert.equal(p.encoding, undefined);
      assert.throws(() => p.stream());
    }
  });

  it('adds Vary: Accept-Encoding to an eligible response sent uncompressed, and only then', () => {
    assert.equal(c.plan(req(undefined), json()).headers.vary, 'Accept-Encoding');
    assert.equal(c.plan(req('br'), json({ 'content-type': 'image/png' })).headers.vary, undefined);
    assert.equal(c.plan(req('br'), json({ vary: '*' })).headers.vary, '*');
    assert.equal(c.plan(req('br'), json({ vary: ['accept-encoding'] })).headers.vary?.toString(), 'accept-encoding');
    const untouched = json();
    c.plan(req('br'), untouched);
    assert.equal(untouched.headers['content-length'], '5000', 'the input headers are not modified');
  });

  it('compresses a chunked body of unknown length, and knows the compressible types', () => {
    assert.equal(c.plan(req('gzip'), json({ 'content-length': undefined })).encoding, 'gzip');
    for (const t of ['text/html', 'text/css; charset=utf-8', 'application/problem+json', 'application/atom+xml', 'image/svg+xml', 'APPLICATION/JSON']) assert.ok(c.compressible(t), t);
    for (const t of ['image/jpeg', 'application/zip', 'application/octet-stream', 'video/mp4', 'font/woff2']) assert.ok(!c.compressible(t), t);
    const custom = new Compressor({ types: ['application/vnd.api+json'], minBytes: 0 });
    assert.ok(custom.compressible('application/vnd.api+json') && !custom.compressible('text/html'));
    assert.throws(() => new Compressor({ types: ['json'] }), UpstreamConfigError);
    assert.throws(() => new Compressor({ encodings: ['deflate' as never] }), UpstreamConfigError);
  });
});

describe('compression streams', () => {
  const body = Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] }))));
  async function run(encoding: string): Promise<Buffer> {
    const p = c.plan(req(encoding), json({ 'content-length': String(body.length) }));
    const out: Buffer[] = [];
    const chunks = Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) => body.subarray(i * 1000, (i + 1) * 1000));
    await pipeline(Readable.from(chunks), p.stream(), new Writable({ write(chunk, _e, cb) { out.push(chunk); cb(); } }));
    return Buffer.concat(out);
  }

  it('streams brotli and gzip that decode to the original body, smaller than it', async () => {
    const br = await run('br');
    assert.ok(brotliDecompressSync(br).equals(body));
    const gz = await run('gzip');
    assert.ok(gunzipSync(gz).equals(body));
    assert.ok(br.length < body.length / 4 && gz.length < body.length / 4, `${body.length} → br ${br.length}, gzip ${gz.length}`);
  });
});
