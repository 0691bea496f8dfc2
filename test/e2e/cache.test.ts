import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { startGateway, scaled, type SupervisedGateway } from '../helpers/gateway.js';

/*
 * The response cache (cache-lookup / cache-store) and compression through the real gateway, in
 * front of a real HTTP origin that counts what reaches it: hits and misses, Age, revalidation
 * with ETag, Vary, no-store and private, Authorization never served across callers, coalescing of
 * concurrent misses, a client that leaves mid-body, and Accept-Encoding negotiation composed with
 * the cache. Assertions are on counts and outcomes, never on time.
 */

const BIG = JSON.stringify({ items: Array.from({ length: 400 }, (_, i) => ({ id: i, name: `item number ${i}`, tags: ['a', 'b', 'c'] })) });

class Origin {
  calls = new Map<string, number>();
  /** requests to /held/* wait here until released */
  private held: Array<() => void> = [];
  /** requests to /drip/* send their first chunk and wait here */
  private dripping: Array<() => void> = [];
  dripHold = true;
  version = 1;
  private server: Server | undefined;
  url = '';

  count(path: string): number {
    return this.calls.get(path) ?? 0;
  }

  get heldCount(): number {
    return this.held.length;
  }

  get drippingCount(): number {
    return this.dripping.length;
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  releaseDrips(): void {
    this.dripHold = false;
    for (const r of this.dripping.splice(0)) r();
  }

  async listen(): Promise<this> {
    const s = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    this.server = s;
    this.url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.release();
    this.releaseDrips();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url!, 'http://x');
    const path = url.pathname;
    const key = path + (req.headers['if-none-match'] ? ' conditional' : '');
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    this.calls.set('*', (this.calls.get('*') ?? 0) + 1);
    const json = (status: number, headers: Record<string, string>, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
    };
    const name = path.split('/')[1] ?? '';
    switch (name) {
      case 'fresh': return json(200, { 'cache-control': 'max-age=60', etag: '"f1"' }, { path, query: url.search, n: this.count(path) });
      case 'etag': {
        const etag = `"v${this.version}"`;
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag, 'cache-control': 'max-age=0' }).end();
        return json(200, { 'cache-control': 'max-age=0', etag }, { version: this.version });
      }
      case 'nostore': return json(200, { 'cache-control': 'no-store' }, { n: this.count(path) });
      case 'private': return json(200, { 'cache-control': 'private, max-age=60' }, { n: this.count(path) });
      case 'vary': return json(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, { lang: req.headers['accept-language'] ?? null });
      // a careless backend: per-caller content without `private`
      case 'me': return json(200, { 'cache-control': 'max-age=60' }, { caller: req.headers.authorization ?? null });
      case 'held': {
        this.held.push(() => json(200, { 'cache-control': 'max-age=60' }, { n: this.count(path) }));
        return;
      }
      case 'drip': {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
        res.write('first-half;');
        const rest = () => res.end('second-half');
        if (this.dripHold) this.dripping.push(rest);
        else rest();
        return;
      }
      case 'big': return json(200, { 'cache-control': 'max-age=60', etag: '"big1"' }, JSON.parse(BIG));
      case 'tiny': return json(200, {}, { ok: true });
      case 'png': return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': '4096' }).end(Buffer.alloc(4096, 7));
      case 'pregz': {
        const gz = gzipSync(BIG);
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(gz.length), vary: 'Accept-Encoding' }).end(gz);
      }
      case 'notransform': return json(200, { 'cache-control': 'no-transform' }, JSON.parse(BIG));
      default: return json(404, {}, { path });
    }
  }
}

let origin: Origin;
let gw: SupervisedGateway | undefined;

after(async () => {
  if (gw && !gw.alive()) console.error(gw.describe(40));
  await gw?.stop();
  await origin?.close();
});

interface Got { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; text: string }

async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  const r = await request(`${gw!.url}${path}`, { method: method as 'GET', headers, headersTimeout: scaled(15000), bodyTimeout: scaled(15000) });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body, text: body.toString() };
}

async function metric(name: string, labels: string): Promise<number> {
  const r = await request(`${gw!.adminUrl}/metrics`);
  const text = await r.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = scaled(15000)): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cached = `
        inbound:
          - base
          - cache-lookup: { vary-by-header: [Accept] }
        outbound:
          - base
          - cache-store: {}`;

describe('response cache and compression (real gateway, real origin)', () => {
  before(async () => {
    origin = await new Origin().listen();
    gw = await startGateway(`
gateway: { listen: { http: 0 }, admin: { listen: 0 }, log: { level: warn, access: false } }
backends:
  origin: { url: "${origin.url}" }
apis:
  - name: cached
    path: /c
    backend: origin
    compression: { enabled: true }
    policies:${cached}
  - name: percaller
    path: /p
    backend: origin
    policies:
      inbound:
        - base
        - cache-lookup: { allow-private-response-caching: true, downstream-caching-type: public }
      outbound:
        - base
        - cache-store: {}
  - name: plain
    path: /z
    backend: origin
    compression: { min-size: 256 }
`);
  });

  it('serves a fresh response from the cache with Age, and counts one backend call', async () => {
    const a = await get('/c/fresh/1');
    const b = await get('/c/fresh/1');
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(a.text, b.text);
    assert.equal(origin.count('/fresh/1'), 1);
    assert.equal(a.headers.age, undefined);
    assert.match(String(b.headers.age), /^\d+$/);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id'], 'a hit gets its own request id');
    const head = await get('/c/fresh/1', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(origin.count('/fresh/1'), 1);
  });

  it('keys on the query whatever its order, and keeps crafted separators apart', async () => {
    await get('/c/fresh/q?a=1&b=2');
    const swapped = await get('/c/fresh/q?b=2&a=1');
    assert.equal(origin.count('/fresh/q'), 1, 'the same parameters in another order are the same entry');
    assert.match(swapped.text, /a=1&b=2/);
    const crafted = await get('/c/fresh/q?a=1%26b%3D2');
    assert.equal(origin.count('/fresh/q'), 2, 'an encoded & is another query');
    assert.match(crafted.text, /a=1%26b%3D2/);
  });

  it('answers If-None-Match from the cache with 304', async () => {
    await get('/c/fresh/inm');
    const r = await get('/c/fresh/inm', { 'if-none-match': '"f1"' });
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers.etag, '"f1"');
    assert.equal(origin.count('/fresh/inm'), 1);
  });

  it('revalidates a stale entry with its ETag: a 304 refreshes it, a new version replaces it', async () => {
    origin.version = 1;
    const first = await get('/c/etag/x');
    assert.deepEqual(JSON.parse(first.text), { version: 1 });
    const second = await get('/c/etag/x');
    assert.equal(second.status, 200);
    assert.deepEqual(JSON.parse(second.text), { version: 1 });
    assert.equal(origin.count('/etag/x'), 1, 'one full response');
    assert.equal(origin.count('/etag/x conditional'), 1, 'then a conditional request that got 304');
    const client304 = await get('/c/etag/x', { 'if-none-match': '"v1"' });
    assert.equal(client304.status, 304, "the client's own condition is answered from the refreshed entry");
    origin.version = 2;
    const changed = await get('/c/etag/x');
    assert.deepEqual(JSON.parse(changed.text), { version: 2 });
  });

  it('varies by the fields the response names in Vary', async () => {
    const en = await get('/c/vary/1', { 'accept-language': 'en' });
    const de = await get('/c/vary/1', { 'accept-language': 'de' });
    const en2 = await get('/c/vary/1', { 'accept-language': 'en' });
    assert.deepEqual(JSON.parse(en.text), { lang: 'en' });
    assert.deepEqual(JSON.parse(de.text), { lang: 'de' });
    assert.deepEqual(JSON.parse(en2.text), { lang: 'en' });
    assert.equal(origin.count('/vary/1'), 2);
  });

  it('varies by vary-by-header (Accept)', async () => {
    await get('/c/fresh/acc', { accept: 'application/json' });
    await get('/c/fresh/acc', { accept: 'text/plain' });
    await get('/c/fresh/acc', { accept: 'application/json' });
    assert.equal(origin.count('/fresh/acc'), 2);
  });

  it('never stores no-store or private responses', async () => {
    const a = await get('/c/nostore/1');
    const b = await get('/c/nostore/1');
    assert.notEqual(a.text, b.text);
    assert.equal(origin.count('/nostore/1'), 2);
    await get('/c/private/1');
    await get('/c/private/1');
    assert.equal(origin.count('/private/1'), 2);
  });

  it('never answers a request with Authorization from the cache, nor stores its response, unless the API opts in', async () => {
    const alice = await get('/c/me/1', { authorization: 'Bearer alice' });
    const bob = await get('/c/me/1', { authorization: 'Bearer bob' });
    const anon = await get('/c/me/1');
    assert.deepEqual(JSON.parse(alice.text), { caller: 'Bearer alice' });
    assert.deepEqual(JSON.parse(bob.text), { caller: 'Bearer bob' });
    assert.deepEqual(JSON.parse(anon.text), { caller: null }, "an anonymous request never gets a caller's response");
    assert.equal(origin.count('/me/1'), 3);
  });

  it('with allow-private-response-caching, keys per caller: one caller never gets another caller\'s response', async () => {
    const a1 = await get('/p/me/2', { authorization: 'Bearer alice' });
    const b1 = await get('/p/me/2', { authorization: 'Bearer bob' });
    const a2 = await get('/p/me/2', { authorization: 'Bearer alice' });
    const b2 = await get('/p/me/2', { authorization: 'Bearer bob' });
    const anon = await get('/p/me/2');
    const other = await get('/p/me/2', { authorization: 'Bearer Alice' });
    assert.deepEqual([a1, a2].map((r) => JSON.parse(r.text).caller), ['Bearer alice', 'Bearer alice']);
    assert.deepEqual([b1, b2].map((r) => JSON.parse(r.text).caller), ['Bearer bob', 'Bearer bob']);
    assert.equal(JSON.parse(anon.text).caller, null);
    assert.equal(JSON.parse(other.text).caller, 'Bearer Alice', 'a near-identical token is another caller');
    assert.equal(origin.count('/me/2'), 4, 'alice, bob, anonymous and the other token: one call each, the repeats from the cache');
    assert.match(String(a2.headers['cache-control']), /^private, max-age=\d+, must-revalidate$/, 'a per-caller response is never made public downstream');
    assert.match(String(anon.headers['cache-control']), /^public, max-age=\d+, must-revalidate$/);
  });

  it('coalesces concurrent misses into one backend call', async () => {
    const before = await metric('gatehouse_cache_lookups_total', 'api="cached",result="coalesced"');
    const leader = get('/c/held/1');
    await until(() => origin.heldCount === 1, 'the leader reaches the origin');
    const followers = Array.from({ length: 9 }, () => get('/c/held/1'));
    await until(async () => (await metric('gatehouse_cache_coalesced_waiting', 'api="cached"')) === 9, 'nine requests wait for the leader');
    assert.equal(origin.count('/held/1'), 1);
    origin.release();
    const all = await Promise.all([leader, ...followers]);
    assert.deepEqual(all.map((r) => r.status), Array(10).fill(200));
    assert.equal(new Set(all.map((r) => r.text)).size, 1, 'everyone got the one response');
    assert.equal(origin.count('/held/1'), 1);
    assert.equal(await metric('gatehouse_cache_lookups_total', 'api="cached",result="coalesced"') - before, 9);
  });

  it('a leader whose client leaves mid-body costs only its own request: the waiters get whole bodies, the cache no torn one', async () => {
    origin.dripHold = true;
    const controller = new AbortController();
    const r = await request(`${gw!.url}/c/drip/1`, { signal: controller.signal });
    const it = r.body[Symbol.asyncIterator]();
    const firstChunk = await it.next();
    assert.match(Buffer.from(firstChunk.value as Uint8Array).toString(), /^first-half;/);
    const followers = Array.from({ length: 3 }, () => get('/c/drip/1'));
    await until(async () => (await metric('gatehouse_cache_coalesced_waiting', 'api="cached"')) === 3, 'three requests wait for the leader');
    r.body.on('error', () => {});
    controller.abort();
    // the waiters are told to go alone and reach the origin themselves
    await until(() => origin.count('/drip/1') === 4, 'the waiters make their own calls');
    origin.releaseDrips();
    const got = await Promise.all(followers);
    for (const g of got) assert.equal(g.text, 'first-half;second-half');
    const after = await get('/c/drip/1');
    assert.equal(after.text, 'first-half;second-half');
    assert.ok(gw!.alive());
  });

  it('compresses with the encoding the client prefers, sets Vary, drops Content-Length, weakens the ETag', async () => {
    const br = await get('/c/big/1', { 'accept-encoding': 'gzip, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(br.body).toString(), BIG);
    assert.match(String(br.headers.vary), /Accept-Encoding/i);
    assert.equal(br.headers['content-length'], undefined);
    assert.equal(br.headers.etag, 'W/"big1"');
    const gz = await get('/c/big/1', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), BIG);
    const none = await get('/c/big/1');
    assert.equal(none.headers['content-encoding'], undefined);
    assert.equal(none.text, BIG);
    assert.match(String(none.headers.vary), /Accept-Encoding/i, 'the answer depended on Accept-Encoding');
    assert.equal(origin.count('/big/1'), 1, 'one stored identity entry serves every encoding (never compressed twice)');
    const revalidate = await get('/c/big/1', { 'accept-encoding': 'br', 'if-none-match': 'W/"big1"' });
    assert.equal(revalidate.status, 304, 'the weakened ETag matches');
  });

  it('leaves tiny bodies, incompressible types, encoded bodies and no-transform alone', async () => {
    const tiny = await get('/z/tiny', { 'accept-encoding': 'br' });
    assert.equal(tiny.headers['content-encoding'], undefined);
    assert.deepEqual(JSON.parse(tiny.text), { ok: true });
    const png = await get('/z/png', { 'accept-encoding': 'br' });
    assert.equal(png.headers['content-encoding'], undefined);
    assert.equal(png.body.length, 4096);
    const pre = await get('/z/pregz', { 'accept-encoding': 'gzip, br' });
    assert.equal(pre.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(pre.body).toString(), BIG, 'compressed once, by the backend');
    const nt = await get('/z/notransform', { 'accept-encoding': 'br' });
    assert.equal(nt.headers['content-encoding'], undefined);
    const refused = await get('/z/notransform', { 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
    const q = await get('/z/big', { 'accept-encoding': 'br;q=0.5, gzip;q=0.9' });
    assert.equal(q.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(q.body).toString(), BIG);
  });

  it('does not die on odd Accept-Encoding or cache-busting input', async () => {
    const odd = await get('/z/big', { 'accept-encoding': 'br;q=abc, *;q=0.1, ' + 'x'.repeat(2000) });
    assert.equal(odd.status, 200);
    const many = await get(`/c/fresh/many?${Array.from({ length: 300 }, (_, i) => `p${i}=${i}`).join('&')}`);
    assert.equal(many.status, 200);
    assert.ok(gw!.alive());
  });
});
