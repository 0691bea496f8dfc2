import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { startGateway, CLI, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { decodeJwt, freePort, FAST_HASH } from '../identity/helpers.js';
import { makeKey, signRaw, type TestKey } from '../gateway/jwt/helpers.js';

/**
 * DPoP end to end: the identity provider binds the tokens to the client's key, the gateway lets
 * them through only with a proof of that key for each request. Real processes, real traffic.
 */
const PASSWORD = 'correct horse battery staple';

describe('DPoP end to end: identity provider + gateway', () => {
  let gw: RunningGateway;
  let backend: TestBackend;
  let base: string;
  let issuer: string;
  const holder = makeKey('ES256', 'holder');
  const thief = makeKey('ES256', 'thief');
  const pub = (k: TestKey) => { const { kid: _k, alg: _a, use: _u, ...j } = k.jwk; return j; };
  const now = () => Math.floor(Date.now() / 1000);
  const proof = (k: TestKey, htm: string, htu: string, accessToken?: string, over: Record<string, unknown> = {}) =>
    signRaw({ typ: 'dpop+jwt', alg: 'ES256', jwk: pub(k) }, {
      htm, htu, iat: now(), jti: randomUUID(),
      ...(accessToken ? { ath: createHash('sha256').update(accessToken).digest('base64url') } : {}), ...over,
    }, k.privateKey);

  before(async () => {
    backend = await startBackend();
    const [gwPort, idPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${gwPort}`;
    issuer = `${base}/auth`;
    gw = await startGateway(`
gateway:
  listen: { http: ${gwPort} }
  admin: { listen: 0 }
backends:
  orders: { url: "${backend.url}" }
  identity: { url: "http://127.0.0.1:${idPort}/auth" }
apis:
  - name: identity
    path: /auth
    backend: identity
  - name: orders
    path: /orders
    backend: orders
    policies:
      inbound:
        - validate-jwt:
            openid-config: ${issuer}/.well-known/openid-configuration
            audiences: [api://orders]
            required-claims:
              - { name: scp, match: any, separator: " ", values: [orders.read] }
identity:
  listen: { http: ${idPort} }
  issuer: ${issuer}
  database: sqlite:./identity.db
  apis:
    - { audience: "api://orders", scopes: [orders.read] }
  clients:
    - { client-id: orders-cli, public: true, grant-types: [password, refresh_token], scopes: [orders.read] }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
`, { waitFor: ['http', 'admin', 'identity'] });
    const add = execFile(process.execPath, [CLI, 'users', 'add', '--config', gw.configFile, '--username', 'alice', '--password-stdin'], { encoding: 'utf8' });
    add.stdin!.end(PASSWORD + '\n');
    assert.equal(await new Promise((r) => add.on('close', r)), 0);
    // ready: the gateway has the provider's signing keys
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${gw.adminUrl}/readyz`);
      await r.arrayBuffer();
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  });

  after(async () => {
    await gw?.stop();
    await backend?.close();
  });

  const boundToken = async () => {
    const r = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof(holder, 'POST', `${issuer}/token`) },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: PASSWORD, scope: 'orders.read' }),
    });
    const json = await r.json() as Record<string, string>;
    assert.equal(r.status, 200, JSON.stringify(json));
    assert.equal(json.token_type, 'DPoP');
    assert.ok((decodeJwt(json.access_token!).payload.cnf as { jkt?: string })?.jkt);
    return json.access_token!;
  };
  const call = (headers: Record<string, string>, path = '/orders', method = 'GET') => fetch(`${base}${path}`, { method, headers });

  test('discovery advertises DPoP, and a bound token works with a fresh proof per request', async () => {
    const d = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    assert.ok(Array.isArray(d.dpop_signing_alg_values_supported));
    const at = await boundToken();
    for (let i = 0; i < 3; i++) {
      const r = await call({ authorization: `DPoP ${at}`, dpop: proof(holder, 'GET', `${base}/orders`, at) });
      assert.equal(r.status, 200, await r.text());
    }
  });

  test('a stolen bound token is useless: as Bearer, with the thief\'s key, or with a replayed proof', async () => {
    const at = await boundToken();
    const before = backend.requests.length;
    const bearer = await call({ authorization: `Bearer ${at}` });
    assert.equal(bearer.status, 401);
    assert.equal((await bearer.json() as { code: string }).code, 'token-dpop-required');
    assert.match(bearer.headers.get('www-authenticate') ?? '', /^DPoP /);
    const theirs = await call({ authorization: `DPoP ${at}`, dpop: proof(thief, 'GET', `${base}/orders`, at) });
    assert.equal(theirs.status, 401);
    assert.equal((await theirs.json() as { code: string }).code, 'token-dpop-proof-invalid');
    const p = proof(holder, 'GET', `${base}/orders`, at);
    assert.equal((await call({ authorization: `DPoP ${at}`, dpop: p })).status, 200);
    const replay = await call({ authorization: `DPoP ${at}`, dpop: p });
    assert.equal(replay.status, 401, 'a captured proof cannot be replayed');
    for (const [what, bad] of [
      ['another path', proof(holder, 'GET', `${base}/orders/elsewhere`, at)],
      ['another method', proof(holder, 'POST', `${base}/orders`, at)],
      ['no ath', proof(holder, 'GET', `${base}/orders`)],
      ['old', proof(holder, 'GET', `${base}/orders`, at, { iat: now() - 3600 })],
    ] as const) {
      const r = await call({ authorization: `DPoP ${at}`, dpop: bad });
      assert.equal(r.status, 401, what);
    }
    assert.equal(backend.requests.length, before + 1, 'only the one good request reached the backend');
  });

  test('the bound refresh token needs the same key', async () => {
    const r = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof(holder, 'POST', `${issuer}/token`) },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'orders-cli', username: 'alice', password: PASSWORD, scope: 'orders.read' }),
    });
    const { refresh_token: rt } = await r.json() as Record<string, string>;
    const refresh = (dpop?: string) => fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop ? { dpop } : {}) },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'orders-cli', refresh_token: rt! }),
    });
    assert.equal((await refresh()).status, 400);
    assert.equal((await refresh(proof(thief, 'POST', `${issuer}/token`))).status, 400);
    const ok = await refresh(proof(holder, 'POST', `${issuer}/token`));
    assert.equal(ok.status, 200);
    const at = (await ok.json() as Record<string, string>).access_token!;
    assert.equal((await call({ authorization: `DPoP ${at}`, dpop: proof(holder, 'GET', `${base}/orders`, at) })).status, 200);
  });
});
