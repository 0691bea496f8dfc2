import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { RemoteKeySource, expectedIssuer, type RemoteSourceOptions } from '../../../src/gateway/jwt/remote-source.js';
import { fetchJson, checkFetchUrl, FetchError } from '../../../src/net/fetch.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { makeKey, startIdp, eventually, type Idp } from './helpers.js';

const logger = pino({ level: 'silent' });
const metrics = new Metrics({ defaultMetrics: false });
const sources: RemoteKeySource[] = [];
const idps: Idp[] = [];
after(async () => {
  for (const s of sources) s.close();
  for (const i of idps) await i.close();
});

function source(idp: Idp, over: Partial<RemoteSourceOptions> = {}): RemoteKeySource {
  const s = new RemoteKeySource({
    discoveryUrl: idp.discoveryUrl, issuers: [], cacheDuration: 3600, cooldown: 30, maxStale: 86400,
    timeout: 2, maxBytes: 64 * 1024, allowInsecureHttp: false, ...over,
  }, logger, metrics);
  sources.push(s);
  return s;
}

async function idpWith(...algs: Array<'RS256' | 'ES256'>): Promise<Idp> {
  const idp = await startIdp(algs.map((a, i) => makeKey(a, `k${i}`)));
  idps.push(idp);
  return idp;
}

test('expectedIssuer derives the issuer from a discovery URL', () => {
  assert.equal(expectedIssuer('https://idp.example/auth/.well-known/openid-configuration'), 'https://idp.example/auth');
  assert.equal(expectedIssuer('https://idp.example/.well-known/openid-configuration'), 'https://idp.example');
  assert.equal(expectedIssuer('https://idp.example/keys'), undefined);
  assert.equal(expectedIssuer('https://idp.example/.well-known/openid-configuration?x=1'), undefined);
});

test('requires https unless the host is loopback or insecure http is allowed', () => {
  assert.throws(() => checkFetchUrl('http://idp.example/.well-known/openid-configuration', false), FetchError);
  assert.ok(checkFetchUrl('http://idp.example/x', true));
  assert.ok(checkFetchUrl('http://127.0.0.1:1/x', false));
  assert.ok(checkFetchUrl('http://localhost:1/x', false));
  assert.ok(checkFetchUrl('http://[::1]:1/x', false));
  assert.ok(checkFetchUrl('https://idp.example/x', false));
  assert.throws(() => checkFetchUrl('file:///etc/passwd', true), FetchError);
  assert.throws(() => checkFetchUrl('ftp://idp.example/x', true), FetchError);
  assert.throws(() => new RemoteKeySource({ discoveryUrl: 'http://idp.example/.well-known/openid-configuration', issuers: [], cacheDuration: 1, cooldown: 1, maxStale: 1, timeout: 1, maxBytes: 1024, allowInsecureHttp: false }, logger, metrics), FetchError);
});

test('loads keys in the background and becomes available', async () => {
  const idp = await idpWith('RS256', 'ES256');
  const s = source(idp);
  assert.equal(s.available, false);
  s.start();
  await eventually(() => s.available, 5000, 'keys');
  assert.equal(s.issuer, idp.issuer);
  assert.equal(s.lookup('k0').length, 1);
  assert.equal(s.lookup('k1').length, 1);
  assert.equal(s.lookup('nope').length, 0);
  assert.equal(s.lookup(undefined).length, 2);
});

test('refuses a discovery document whose issuer does not match the URL or the configured issuers', async () => {
  const idp = await idpWith('RS256');
  idp.discovery = { issuer: 'https://evil.example', jwks_uri: `${idp.url}/jwks` };
  const s = source(idp);
  await s.refresh('test');
  assert.equal(s.available, false);
  assert.equal(idp.jwksHits, 0, 'the JWKS of a mismatched issuer is not even fetched');
  const s2 = source(idp, { issuers: ['https://evil.example'] });
  await s2.refresh('test');
  assert.equal(s2.available, true, 'a configured issuer is accepted');
  const s3 = source(idp, { issuers: ['https://other.example'] });
  await s3.refresh('test');
  assert.equal(s3.available, false);
});

test('an unknown kid triggers at most one fetch per cooldown, whatever the concurrency', async () => {
  const idp = await idpWith('ES256');
  const s = source(idp, { cooldown: 30 });
  await s.refresh('initial');
  const before = idp.jwksHits;
  // 200 concurrent requests with forged kids, right after a fetch: nothing is fetched
  await Promise.all(Array.from({ length: 200 }, () => s.refreshForUnknownKid()));
  assert.equal(idp.jwksHits, before);
  // once the cooldown has passed, one fetch serves every concurrent caller
  const s2 = source(idp, { cooldown: 0.05 });
  await s2.refresh('initial');
  await new Promise((r) => setTimeout(r, 80));
  const start = idp.jwksHits;
  await Promise.all(Array.from({ length: 200 }, () => s2.refreshForUnknownKid()));
  assert.equal(idp.jwksHits - start, 1);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a flood of random kids causes at most one fetch per cooldown window, however long it lasts', async () => {
  const idp = await idpWith('ES256');
  const cooldownS = 0.6;
  const s = source(idp, { cooldown: cooldownS });
  await s.refresh('initial');
  await sleep(cooldownS * 1000 + 50);
  const start = idp.jwksHits;
  const t0 = Date.now();
  let n = 0;
  // random kids, a few per millisecond, from many callers at once, for a bit more than three windows
  while (Date.now() - t0 < 2000) {
    await Promise.all(Array.from({ length: 20 }, () => s.refreshForUnknownKid(`forged-${n++}`)));
    await sleep(2);
  }
  const elapsed = (Date.now() - t0) / 1000;
  const fetches = idp.jwksHits - start;
  assert.ok(fetches >= 1, 'the first unknown kid is looked up');
  assert.ok(fetches <= Math.floor(elapsed / cooldownS) + 1, `${fetches} fetches in ${elapsed.toFixed(2)} s with a ${cooldownS} s cooldown (${n} forged kids)`);
});

test('a kid published just after a kid-miss fetch becomes usable a few seconds later, not a cooldown later', async () => {
  const idp = await idpWith('ES256');
  const cooldownS = 6; // the early refetch waits a sixth of it: 1 s
  const s = source(idp, { cooldown: cooldownS });
  // a stray token with an unknown kid: one fetch (the first), which does not find it
  await s.refreshForUnknownKid('stray');
  assert.equal(s.lookup('k0').length, 1);
  assert.equal(s.lookup('stray').length, 0);
  const afterStray = idp.jwksHits;
  // the issuer rotates in an emergency: a new key, and fresh tokens naming it at once
  idp.keys = [...idp.keys, makeKey('ES256', 'emergency')];
  await s.refreshForUnknownKid('emergency');
  assert.equal(idp.jwksHits, afterStray, 'no fetch right after the last one');
  assert.equal(s.lookup('emergency').length, 0);
  await sleep(1200);
  // the stray kid again: it was looked up already, it does not spend the early refetch
  await s.refreshForUnknownKid('stray');
  assert.equal(idp.jwksHits, afterStray);
  // the new kid, never looked up: one early fetch, well inside the cooldown
  await s.refreshForUnknownKid('emergency');
  assert.equal(idp.jwksHits, afterStray + 1);
  assert.equal(s.lookup('emergency').length, 1, 'the emergency key is usable');
  // and that was the one early fetch of this window
  await sleep(1200);
  await s.refreshForUnknownKid('another-new-one');
  assert.equal(idp.jwksHits, afterStray + 1);
});

test('a new key appears after a refresh; a removed key is deactivated', async () => {
  const idp = await idpWith('RS256');
  const s = source(idp, { cooldown: 0 });
  await s.refresh('initial');
  const old = s.lookup('k0')[0]!;
  const fresh = makeKey('ES256', 'new');
  idp.keys = [fresh];
  await s.refreshForUnknownKid();
  assert.equal(s.lookup('new').length, 1);
  assert.equal(s.lookup('k0').length, 0);
  assert.equal(old.active, false);
});

test('a key that stays in the JWKS keeps its identity across refreshes', async () => {
  const idp = await idpWith('RS256');
  const s = source(idp, { cooldown: 0 });
  await s.refresh('initial');
  const k = s.lookup('k0')[0]!;
  await s.refresh('again');
  assert.equal(s.lookup('k0')[0], k);
  assert.equal(k.active, true);
});

test('keeps the last good keys when the JWKS is down, garbage or empty', async () => {
  const idp = await idpWith('RS256');
  const s = source(idp, { cooldown: 0 });
  await s.refresh('initial');
  for (const mode of ['down', 'garbage', 'empty'] as const) {
    idp.mode = mode;
    await s.refresh(mode);
    assert.equal(s.available, true, mode);
    assert.equal(s.lookup('k0').length, 1, mode);
    assert.equal(s.lookup('k0')[0]!.active, true, mode);
  }
});

test('drops the keys once they are older than the max stale age', async () => {
  const idp = await idpWith('RS256');
  const s = source(idp, { cooldown: 0, maxStale: 0.2 });
  await s.refresh('initial');
  const k = s.lookup('k0')[0]!;
  idp.mode = 'down';
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.available, false);
  await s.refresh('after');
  assert.equal(k.active, false);
  idp.mode = 'ok';
  await s.refresh('recovered');
  assert.equal(s.available, true);
});

test('refreshes in the background before the cache lifetime ends', async () => {
  const idp = await idpWith('RS256');
  const s = source(idp, { cacheDuration: 1 });
  s.start();
  await eventually(() => s.available);
  const hits = idp.jwksHits;
  await eventually(() => idp.jwksHits > hits, 5000, 'a background refresh');
});

test('skips unusable JWKS keys (small RSA, symmetric, encryption) and keeps the rest', async () => {
  const idp = await idpWith('ES256');
  const small = makeKey('RS1024', 'small');
  idp.keys = [...idp.keys, small, { ...makeKey('RS256', 'enc'), jwk: { ...makeKey('RS256', 'enc').jwk, use: 'enc' } }];
  const extra = { kid: 'oct', alg: 'HS256', privateKey: small.privateKey, publicKey: small.publicKey, pem: '', jwk: { kty: 'oct', k: 'AAAA', kid: 'oct' } };
  idp.keys.push(extra);
  const s = source(idp);
  await s.refresh('initial');
  assert.equal(s.lookup('k0').length, 1);
  assert.equal(s.lookup('small').length, 0);
  assert.equal(s.lookup('enc').length, 0);
  assert.equal(s.lookup('oct').length, 0);
});

async function rawServer(handler: Parameters<typeof createServer>[1]) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

test('fetch refuses redirects to another host and follows same-host ones', async () => {
  const other = await rawServer((_q, res) => res.end('{"ok":true}'));
  const srv = await rawServer((req, res) => {
    if (req.url === '/away') { res.writeHead(302, { location: `${other.url.replace('127.0.0.1', 'localhost')}/x` }); return res.end(); }
    if (req.url === '/here') { res.writeHead(301, { location: '/final' }); return res.end(); }
    res.end('{"final":true}');
  });
  try {
    await assert.rejects(fetchJson(`${srv.url}/away`, { timeoutMs: 2000, maxBytes: 1024, allowInsecureHttp: false }), /another host/);
    const r = await fetchJson(`${srv.url}/here`, { timeoutMs: 2000, maxBytes: 1024, allowInsecureHttp: false });
    assert.deepEqual(r.json, { final: true });
  } finally {
    await srv.close();
    await other.close();
  }
});

test('fetch enforces the size limit, with or without Content-Length', async () => {
  const big = JSON.stringify({ keys: [], pad: 'x'.repeat(10000) });
  const srv = await rawServer((req, res) => {
    if (req.url === '/chunked') { res.write(big.slice(0, 5000)); res.end(big.slice(5000)); return; }
    res.writeHead(200, { 'content-length': Buffer.byteLength(big) });
    res.end(big);
  });
  try {
    await assert.rejects(fetchJson(`${srv.url}/len`, { timeoutMs: 2000, maxBytes: 4096, allowInsecureHttp: false }), /larger/);
    await assert.rejects(fetchJson(`${srv.url}/chunked`, { timeoutMs: 2000, maxBytes: 4096, allowInsecureHttp: false }), /larger/);
  } finally {
    await srv.close();
  }
});

test('fetch times out on a server that never answers', async () => {
  const srv = await rawServer(() => { /* hang */ });
  try {
    await assert.rejects(fetchJson(`${srv.url}/`, { timeoutMs: 200, maxBytes: 1024, allowInsecureHttp: false }), FetchError);
  } finally {
    await srv.close();
  }
});

test('honours Cache-Control max-age and no-store', async () => {
  const srv = await rawServer((req, res) => {
    res.writeHead(200, { 'cache-control': req.url === '/nostore' ? 'no-store' : 'public, max-age=120' });
    res.end('{}');
  });
  try {
    const a = await fetchJson(`${srv.url}/a`, { timeoutMs: 2000, maxBytes: 1024, allowInsecureHttp: false });
    assert.equal(a.maxAge, 120);
    const b = await fetchJson(`${srv.url}/nostore`, { timeoutMs: 2000, maxBytes: 1024, allowInsecureHttp: false });
    assert.equal(b.noCache, true);
  } finally {
    await srv.close();
  }
});
