import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateKeyPair, exportJWK, SignJWT, type JWK } from 'jose';
import { request } from 'undici';
import { startGateway, ROOT, scaled, type SupervisedGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { createPki, httpsGet, type Issued, type Pki } from '../helpers/certs.js';
import { requireRedis } from '../state/redis-servers.js';

/*
 * Every config in examples/ (besides the quickstart, which has its own test) started as shipped,
 * with only its fixed ports moved to free ones, and driven with real traffic as its header
 * comment promises.
 */
const example = (name: string): string =>
  readFileSync(join(ROOT, 'examples', name, 'gatehouse.yaml'), 'utf8')
    .replace(/http: 8080\b/, 'http: 0').replace(/port: 8080\b/, 'port: 0').replace(/port: 8443\b/, 'port: 0')
    .replace(/listen: 9090\b/, 'listen: 0');

async function waitReady(gw: SupervisedGateway): Promise<void> {
  const end = Date.now() + scaled(20000);
  for (;;) {
    const r = await request(`${gw.adminUrl}/readyz`);
    await r.body.dump();
    if (r.statusCode === 200) return;
    assert.ok(Date.now() < end, 'the example gateway became ready');
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** An identity provider "you already have": OIDC discovery and a JWKS, signing with its own key. */
async function startIdp(): Promise<{ issuer: string; sign(claims: Record<string, unknown>, key?: 'own' | 'foreign'): Promise<string>; close(): Promise<void> }> {
  const own = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(own.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/tenant/.well-known/openid-configuration') res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    else if (req.url === '/tenant/keys') res.end(JSON.stringify({ keys: [jwk] }));
    else { res.statusCode = 404; res.end('{}'); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tenant`;
  return {
    issuer,
    sign: (claims, key = 'own') => new SignJWT({ iss: issuer, aud: 'api://orders', sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt()
      .sign(key === 'own' ? own.privateKey : foreign.privateKey),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('examples/existing-idp: protect an existing API with an existing identity provider', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let backend: TestBackend;
  let gw: SupervisedGateway;
  before(async () => {
    idp = await startIdp();
    backend = await startBackend();
    gw = await startGateway(example('existing-idp'), { env: { OIDC_ISSUER: idp.issuer, API_AUDIENCE: 'api://orders', BACKEND_URL: backend.url } });
    await waitReady(gw);
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
    await idp?.close();
  });

  const call = async (token?: string, headers: Record<string, string> = {}) => {
    const r = await request(`${gw.url}/orders/7`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    await r.body.dump();
    return r.statusCode;
  };

  it('forwards a valid token with the caller in X-User-Id, and a forged X-User-Id never passes', async () => {
    assert.equal(await call(await idp.sign({}), { 'x-user-id': 'admin' }), 200);
    const seen = backend.requests.at(-1)!;
    assert.equal(seen.url, '/orders/7');
    assert.equal(seen.headers['x-user-id'], 'user-1');
  });

  it('refuses what is not a token of that issuer for that audience, and the backend sees none of it', async () => {
    const before = backend.requests.length;
    assert.equal(await call(), 401, 'no token');
    assert.equal(await call(await idp.sign({ aud: 'api://other' })), 401, 'another audience');
    assert.equal(await call(await idp.sign({ iss: 'https://evil.example/tenant' })), 401, 'another issuer');
    assert.equal(await call(await idp.sign({}, 'foreign')), 401, 'signed by another key');
    assert.equal(await call(await idp.sign({ exp: Math.floor(Date.now() / 1000) - 3600 })), 401, 'expired');
    assert.equal(backend.requests.length, before);
  });
});

describe('examples/https-mtls: HTTPS, and an API for partners with client certificates', () => {
  let pki: Pki;
  let backend: TestBackend;
  let gw: SupervisedGateway;
  let base: string;
  let partner: Issued;
  let impostor: Issued;
  before(async () => {
    pki = createPki();
    backend = await startBackend();
    const server = pki.issue({ name: 'example-server', subject: '/CN=localhost', issuer: pki.intermediate, usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    partner = pki.issue({ name: 'partner', subject: '/O=Partner/CN=partner', issuer: pki.intermediate, usage: 'client', dns: ['partner.example'] });
    impostor = pki.issue({ name: 'impostor', subject: '/O=Partner/CN=partner', issuer: pki.otherCa, usage: 'client', dns: ['partner.example'] });
    // the certificate files the example expects in certs/, from this run's PKI
    const yaml = example('https-mtls').replaceAll('certs/server.pem', server.chain).replaceAll('certs/server.key', server.key)
      .replaceAll('certs/clients-ca.pem', pki.rootFile);
    gw = await startGateway(yaml, { env: { BACKEND_URL: backend.url }, waitFor: ['http', 'https', 'admin'] });
    base = `https://127.0.0.1:${gw.ports.https}`;
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
  });
  const get = (path: string, client?: Issued, headers: Record<string, string> = {}) =>
    httpsGet(`${base}${path}`, { ca: pki.root.pem, headers, ...(client ? { cert: client.chainPem, key: client.keyPem } : {}) });

  it('redirects plain HTTP to HTTPS and serves /status to anyone over HTTPS with HSTS', async () => {
    const r = await request(`http://127.0.0.1:${gw.ports.http}/status?x=1`);
    await r.body.dump();
    assert.equal(r.statusCode, 308);
    assert.match(String(r.headers.location), /^https:\/\/.*\/status\?x=1$/);
    const s = await get('/status');
    assert.equal(s.status, 200);
    assert.match(String(s.headers['strict-transport-security']), /max-age=31536000/);
  });

  it('lets the partner in with its certificate and tells the backend who it is', async () => {
    const r = await get('/partners/orders', partner, { 'x-forwarded-client-cert': 'By=forged;Hash=00' });
    assert.equal(r.status, 200, r.body);
    const xfcc = String(backend.requests.at(-1)!.headers['x-forwarded-client-cert']);
    assert.match(xfcc, /Hash=[0-9a-f]{64}/i);
    assert.ok(!xfcc.includes('forged'), 'the client\'s own X-Forwarded-Client-Cert was removed');
  });

  it('refuses no certificate, another client of the CA, and the same name from another CA', async () => {
    const before = backend.requests.length;
    const none = await get('/partners/orders');
    assert.equal(none.status, 403);
    assert.equal(JSON.parse(none.body).code, 'client-certificate-missing');
    const other = await get('/partners/orders', pki.clientValid);
    assert.equal(JSON.parse(other.body).code, 'client-certificate-identity-mismatch');
    const forged = await get('/partners/orders', impostor).catch((e: Error) => ({ status: 0, body: JSON.stringify({ code: `handshake refused: ${e.message}` }) }));
    assert.notEqual(forged.status, 200, 'a certificate from another CA is never accepted');
    assert.equal(backend.requests.length, before);
  });
});

describe('examples/workers-redis: workers sharing limits through Redis, a backend of three targets', async () => {
  const skip = await requireRedis();
  let targets: TestBackend[] = [];
  let gw: SupervisedGateway;
  before(async () => {
    if (skip) return;
    targets = [await startBackend(), await startBackend(), await startBackend()];
    gw = await startGateway(example('workers-redis'), {
      env: {
        // a prefix of its own on the shared Redis, and a store timeout a loaded test machine cannot trip
        REDIS_URL: `redis://127.0.0.1:6379?prefix=examples-${process.pid}-${Date.now()}:&timeout=2s`,
        TARGET_1: targets[0]!.url, TARGET_2: targets[1]!.url, TARGET_3: targets[2]!.url,
      },
    });
    await waitReady(gw);
  });
  after(async () => {
    await gw?.stop();
    for (const t of targets) await t.close();
  });

  it('admits exactly 100 of 150 parallel requests across the workers and spreads them over the targets', { skip }, async () => {
    const statuses = await Promise.all(Array.from({ length: 150 }, async () => {
      const r = await request(`${gw.url}/items`);
      await r.body.dump();
      return r.statusCode;
    }));
    assert.deepEqual([...new Set(statuses)].sort(), [200, 429]);
    assert.equal(statuses.filter((s) => s === 200).length, 100);
    const served = targets.map((t) => t.requests.filter((r) => r.url === '/items').length);
    assert.equal(served.reduce((a, b) => a + b, 0), 100, `every admitted request reached one target: ${served.join(', ')}`);
    for (const n of served) assert.ok(n > 0, `every target took a share: ${served.join(', ')}`);
  });
});
