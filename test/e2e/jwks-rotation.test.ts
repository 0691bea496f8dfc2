/**
 * Key rotation against a real HTTP JWKS endpoint served by the test, through the real gateway.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { makeKey, token, startIdp, eventually, type Idp, type TestKey } from '../gateway/jwt/helpers.js';
import { send } from '../gateway/jwt/http-client.js';

const AUD = 'api://orders';
let gw: RunningGateway;
let backend: TestBackend;
/** /fast: unknown kids refetch at once (cooldown 0), keys cached 1 h */
let fast: Idp;
/** /bg: keys cached 1 s, so background refreshes run continuously */
let bg: Idp;
/** /late: the JWKS is down when the gateway starts */
let late: Idp;
let k1: TestKey;

before(async () => {
  k1 = makeKey('RS256', 'k1');
  fast = await startIdp([k1]);
  bg = await startIdp([k1]);
  late = await startIdp([k1]);
  late.mode = 'down';
  backend = await startBackend();
  gw = await startGateway(`
gateway: { listen: { http: 0 }, admin: { listen: 0 } }
backends: { echo: { url: "${backend.url}" } }
apis:
  - name: fast
    path: /fast
    backend: echo
    policies:
      inbound:
        - validate-jwt: { openid-config: "${fast.discoveryUrl}", audiences: [${AUD}], keys-refresh-cooldown: 0s }
  - name: bg
    path: /bg
    backend: echo
    policies:
      inbound:
        - validate-jwt: { openid-config: "${bg.discoveryUrl}", audiences: [${AUD}], keys-cache-duration: 1s, keys-refresh-cooldown: 0.2s }
  - name: late
    path: /late
    backend: echo
    policies:
      inbound:
        - validate-jwt: { openid-config: "${late.discoveryUrl}", audiences: [${AUD}], keys-refresh-cooldown: 1s }
`);
});

after(async () => {
  await gw?.stop();
  await backend?.close();
  await fast?.close();
  await bg?.close();
  await late?.close();
});

const call = (path: string, t: string) => send(gw.url, path, [['Authorization', `Bearer ${t}`]]);
const tok = (idp: Idp, key: TestKey, extra: Record<string, unknown> = {}) => token(key, { iss: idp.issuer, aud: AUD, jti: Math.random().toString(36), ...extra });

async function waitAccepted(path: string, idp: Idp, key: TestKey) {
  await eventually(async () => (await call(path, tok(idp, key))).status === 200, 10000, `${path} to accept tokens`);
}

test('the gateway is not ready while a JWKS is unreachable, answers 503 with Retry-After, then recovers', async () => {
  const ready = await fetch(`${gw.adminUrl}/readyz`);
  assert.equal(ready.status, 503);
  await ready.arrayBuffer();
  const r = await call('/late/1', tok(late, k1));
  assert.equal(r.status, 503);
  assert.equal(r.json?.code, 'token-keys-unavailable');
  assert.ok(Number(r.headers['retry-after']) > 0);
  late.mode = 'ok';
  await waitAccepted('/late/1', late, k1);
  await eventually(async () => { const x = await fetch(`${gw.adminUrl}/readyz`); await x.arrayBuffer(); return x.status === 200; }, 10000, 'readiness');
});

test('a new key is accepted after exactly one refresh triggered by its kid', async () => {
  await waitAccepted('/fast/1', fast, k1);
  const k2 = makeKey('ES256', 'k2');
  fast.keys = [k1, k2];
  const hits = fast.jwksHits;
  const r = await call('/fast/1', tok(fast, k2));
  assert.equal(r.status, 200, r.body);
  assert.equal(fast.jwksHits - hits, 1);
  // known kids cause no fetch
  assert.equal((await call('/fast/1', tok(fast, k2))).status, 200);
  assert.equal((await call('/fast/1', tok(fast, k1))).status, 200);
  assert.equal(fast.jwksHits - hits, 1);
});

test('a removed key: its tokens are refused even when cached (refresh triggered by an unknown kid)', async () => {
  const old = makeKey('RS256', 'old');
  fast.keys = [old];
  const t = tok(fast, old);
  assert.equal((await call('/fast/1', t)).status, 200, 'accepted once (now cached)');
  assert.equal((await call('/fast/1', t)).status, 200, 'served again (from cache)');
  const next = makeKey('RS256', 'next');
  fast.keys = [next];
  assert.equal((await call('/fast/1', tok(fast, next))).status, 200, 'the new kid triggers a refresh');
  const r = await call('/fast/1', t);
  assert.equal(r.status, 401);
  assert.equal(r.json?.code, 'token-signature-invalid');
});

test('a removed key: its cached tokens are refused after the background refresh', async () => {
  const a = makeKey('ES256', 'bg-a');
  bg.keys = [a];
  await waitAccepted('/bg/1', bg, a);
  const t = tok(bg, a);
  assert.equal((await call('/bg/1', t)).status, 200);
  bg.keys = [makeKey('ES256', 'bg-b')];
  await eventually(async () => (await call('/bg/1', t)).status === 401, 10000, 'the cached token to be refused');
});

test('JWKS down: the last good keys keep working, and the failure is counted', async () => {
  const a = makeKey('RS256', 'steady');
  bg.keys = [a];
  await waitAccepted('/bg/1', bg, a);
  bg.mode = 'down';
  const hits = bg.jwksHits;
  await eventually(() => bg.jwksHits >= hits + 2, 10000, 'failed refreshes');
  for (let i = 0; i < 3; i++) assert.equal((await call('/bg/1', tok(bg, a))).status, 200);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('gatehouse_jwks_refresh_failures_total') && l.includes(bg.url));
  assert.ok(line && Number(line.split(' ').pop()) > 0, `failure metric: ${line}`);
  assert.ok(gw.logs.some((l) => l.msg === 'token signing keys refresh failed'), 'the failure is logged');
  bg.mode = 'ok';
});

test('JWKS returning garbage or an empty key set: the last good keys are kept', async () => {
  const a = makeKey('RS256', 'kept');
  bg.keys = [a];
  await waitAccepted('/bg/1', bg, a);
  for (const mode of ['garbage', 'empty'] as const) {
    bg.mode = mode;
    const hits = bg.jwksHits;
    await eventually(() => bg.jwksHits >= hits + 2, 10000, `${mode} refreshes`);
    assert.equal((await call('/bg/1', tok(bg, a))).status, 200, mode);
  }
  bg.mode = 'ok';
});
