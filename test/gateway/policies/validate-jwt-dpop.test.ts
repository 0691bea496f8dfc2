import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { validateJwt } from '../../../src/gateway/policies/validate-jwt.js';
import type { Reply } from '../../../src/gateway/reply.js';
import type { CounterStore } from '../../../src/state/types.js';
import { MemoryStore } from '../../../src/state/memory.js';
import { createStore } from '../../../src/state/index.js';
import { Metrics } from '../../../src/observability/metrics.js';
import pino from 'pino';
import { policyContext, type TestPolicyContext } from '../../helpers/policy-context.js';
import { build, exchange, run, type FakeRequest } from '../jwt/context.js';
import { makeKey, token, signRaw, now, type TestKey } from '../jwt/helpers.js';

/**
 * DPoP (RFC 9449) at the gateway: a token bound to a key (cnf.jkt) is accepted only with a
 * proof of that key for this very request. Attacks that must fail.
 */
const issuerKey = makeKey('RS256', 'iss-1');
const ISS = 'https://idp.example';
const AUD = 'api://orders';
const base = { 'issuer-signing-keys': [{ jwk: issuerKey.jwk }], issuers: [ISS], audiences: [AUD] };
const HTU = 'http://gw.example/orders/1';

const contexts: TestPolicyContext[] = [];
after(async () => { for (const c of contexts) await c.close(); });
function ctx(store: () => CounterStore = () => new MemoryStore({ sweepIntervalMs: 0 })): TestPolicyContext {
  let s: CounterStore | undefined;
  const c = policyContext({ store: () => (s ??= store()) });
  contexts.push(c);
  return c;
}

/** RFC 7638 thumbprint of a public JWK */
function thumbprint(jwk: Record<string, unknown>): string {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : ['crv', 'kty', 'x'];
  return createHash('sha256').update(JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])))).digest('base64url');
}
const publicJwk = (k: TestKey) => { const { kid: _k, alg: _a, use: _u, ...j } = k.jwk; return j; };
const ath = (t: string) => createHash('sha256').update(t).digest('base64url');

const holder = makeKey('ES256', 'holder');
const other = makeKey('ES256', 'other');
const bound = (key = holder, claims: Record<string, unknown> = {}) => token(issuerKey, { iss: ISS, aud: AUD, cnf: { jkt: thumbprint(publicJwk(key)) }, ...claims });
const plain = () => token(issuerKey, { iss: ISS, aud: AUD });

interface ProofOpts { key?: TestKey; jwkOf?: TestKey; htm?: string; htu?: string; iat?: number; jti?: string; ath?: string | null; header?: Record<string, unknown>; claims?: Record<string, unknown> }
function proof(accessToken: string, o: ProofOpts = {}): string {
  const key = o.key ?? holder;
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: publicJwk(o.jwkOf ?? key), ...o.header };
  const payload: Record<string, unknown> = { htm: o.htm ?? 'GET', htu: o.htu ?? HTU, iat: o.iat ?? now(), jti: o.jti ?? randomUUID(), ...o.claims };
  if (o.ath !== null) payload.ath = o.ath ?? ath(accessToken);
  return signRaw(header, payload, key.privateKey);
}
const request = (headers: Array<[string, string]>, over: FakeRequest = {}) =>
  exchange({ headers: [['Host', 'gw.example'], ...headers], method: 'GET', path: '/orders/1', ...over });
/** Authorization: DPoP <t>, with the proof `p` (a fresh valid one by default; null: none) */
const dpop = (t: string, p: string | null = proof(t)): Array<[string, string]> => [['Authorization', `DPoP ${t}`], ...(p === null ? [] : [['DPoP', p] as [string, string]])];

function rejected(r: Reply | undefined, status: number, code: string): Reply {
  assert.ok(r, `expected ${status} ${code}, the request continued`);
  assert.equal(r.status, status);
  assert.equal(r.problem?.code, code);
  return r;
}

test('a bound token with a valid proof of its key is accepted, and its claims are available', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  const ex = request(dpop(t));
  assert.equal(await run(h, ex), undefined);
  assert.equal((ex.claims?.cnf as { jkt: string }).jkt, thumbprint(publicJwk(holder)));
  // again (a cache hit for the token), with a fresh proof
  assert.equal(await run(h, request(dpop(t))), undefined);
  // an EdDSA and an RSA holder work too
  for (const k of [makeKey('EdDSA', 'ed'), makeKey('PS256', 'ps')]) {
    const tk = bound(k);
    assert.equal(await run(h, request(dpop(tk, proof(tk, { key: k })))), undefined, k.alg);
  }
});

test('a bound token presented as a Bearer token is refused, before and after it was cached', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  const first = rejected(await run(h, request([['Authorization', `Bearer ${t}`]])), 401, 'token-dpop-required');
  assert.match(String(first.headers?.['www-authenticate']), /^DPoP /);
  assert.equal(await run(h, request(dpop(t))), undefined);
  rejected(await run(h, request([['Authorization', `Bearer ${t}`]])), 401, 'token-dpop-required');
  rejected(await run(h, request([['Authorization', `Bearer ${t}`], ['DPoP', proof(t)]])), 401, 'token-dpop-required');
});

test('a bound token in a query parameter or cookie is refused', async () => {
  const q = await build(validateJwt, { ...base, 'query-parameter-name': 'access_token' }, ctx());
  const t = bound();
  rejected(await run(q, request([['DPoP', proof(t)]], { query: `access_token=${t}` })), 401, 'token-dpop-required');
  const c = await build(validateJwt, { ...base, 'cookie-name': 'at' }, ctx());
  rejected(await run(c, request([['Cookie', `at=${t}`], ['DPoP', proof(t)]])), 401, 'token-dpop-required');
});

test('the proof must be there, once, and a compact JWS', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  const r = rejected(await run(h, request(dpop(t, null))), 401, 'token-dpop-proof-invalid');
  assert.match(String(r.headers?.['www-authenticate']), /^DPoP .*error="invalid_dpop_proof"/);
  rejected(await run(h, request([...dpop(t), ['DPoP', proof(t)]])), 401, 'token-dpop-proof-invalid');
  for (const junk of ['', 'x', 'a.b', 'a.b.c.d.e', '%%%.%%%.%%%', 'x'.repeat(20_000)]) {
    rejected(await run(h, request(dpop(t, junk))), 401, 'token-dpop-proof-invalid');
  }
});

test('wrong key: a proof by another key, a proof whose jwk is not the signer, a private jwk', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  rejected(await run(h, request(dpop(t, proof(t, { key: other })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { key: other, jwkOf: holder })))), 401, 'token-dpop-proof-invalid');
  const priv = holder.privateKey.export({ format: 'jwk' });
  rejected(await run(h, request(dpop(t, proof(t, { header: { jwk: priv } })))), 401, 'token-dpop-proof-invalid');
  // the token bound to another key, the proof by ours
  const theirs = bound(other);
  rejected(await run(h, request(dpop(theirs, proof(theirs)))), 401, 'token-dpop-proof-invalid');
});

test('algorithm and type: none, HMAC, a missing or wrong typ are refused', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const claims = { htm: 'GET', htu: HTU, iat: now(), jti: randomUUID(), ath: ath(t) };
  rejected(await run(h, request(dpop(t, `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk(holder) })}.${b64(claims)}.`))), 401, 'token-dpop-proof-invalid');
  const secret = Buffer.alloc(32, 7);
  rejected(await run(h, request(dpop(t, signRaw({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url') } }, claims, secret)))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { header: { typ: 'JWT' } })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { header: { typ: undefined } })))), 401, 'token-dpop-proof-invalid');
});

test('a replayed proof is refused, even with another token of the same key', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  const p = proof(t);
  assert.equal(await run(h, request(dpop(t, p))), undefined);
  rejected(await run(h, request(dpop(t, p))), 401, 'token-dpop-proof-invalid');
  const jti = randomUUID();
  assert.equal(await run(h, request(dpop(t, proof(t, { jti })))), undefined);
  const t2 = bound(holder, { sub: 'user-2' });
  rejected(await run(h, request(dpop(t2, proof(t2, { jti })))), 401, 'token-dpop-proof-invalid');
  // in parallel: of 20 uses of one proof, one passes
  const p2 = proof(t);
  const all = await Promise.all(Array.from({ length: 20 }, () => run(h, request(dpop(t, p2)))));
  assert.equal(all.filter((r) => r === undefined).length, 1);
});

test('wrong request: another method, URL, host or scheme; the query and fragment are ignored', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  rejected(await run(h, request(dpop(t, proof(t, { htm: 'POST' })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { htm: 'get' })))), 401, 'token-dpop-proof-invalid');
  for (const htu of ['http://gw.example/orders/2', 'http://evil.example/orders/1', 'https://gw.example/orders/1', 'http://gw.example:8080/orders/1', 'http://gw.example/orders/1/', '/orders/1', 'not a url']) {
    rejected(await run(h, request(dpop(t, proof(t, { htu })))), 401, 'token-dpop-proof-invalid');
  }
  rejected(await run(h, request(dpop(t, proof(t, { claims: { htu: 42 } })))), 401, 'token-dpop-proof-invalid');
  assert.equal(await run(h, request(dpop(t, proof(t, { htu: 'http://GW.example:80/orders/1?x=1#f' })))), undefined);
});

test('missing or wrong ath (a proof made for another token) is refused', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = bound();
  rejected(await run(h, request(dpop(t, proof(t, { ath: null })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { ath: ath(bound(holder, { sub: 'x' })) })))), 401, 'token-dpop-proof-invalid');
});

test('iat outside the window (proof-max-age, clock-skew) and a missing jti are refused', async () => {
  const h = await build(validateJwt, { ...base, dpop: { 'proof-max-age': 30 } }, ctx());
  const t = bound();
  rejected(await run(h, request(dpop(t, proof(t, { iat: now() - 31 })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { iat: now() + 5 })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { claims: { iat: 'now' } })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { claims: { jti: undefined } })))), 401, 'token-dpop-proof-invalid');
  rejected(await run(h, request(dpop(t, proof(t, { claims: { jti: 7 } })))), 401, 'token-dpop-proof-invalid');
  assert.equal(await run(h, request(dpop(t, proof(t, { iat: now() - 20 })))), undefined);
  const skewed = await build(validateJwt, { ...base, 'clock-skew': 10 }, ctx());
  assert.equal(await run(skewed, request(dpop(t, proof(t, { iat: now() + 5 })))), undefined);
});

test('an unbound token sent with the DPoP scheme is refused; dpop.required refuses unbound Bearer tokens', async () => {
  const h = await build(validateJwt, base, ctx());
  const t = plain();
  rejected(await run(h, request(dpop(t))), 401, 'token-dpop-proof-invalid');
  assert.equal(await run(h, request([['Authorization', `Bearer ${t}`]])), undefined, 'a plain Bearer token still works by default');
  const strict = await build(validateJwt, { ...base, dpop: { required: true } }, ctx());
  rejected(await run(strict, request([['Authorization', `Bearer ${t}`]])), 401, 'token-dpop-required');
  const b = bound();
  assert.equal(await run(strict, request(dpop(b))), undefined);
});

test('a malformed cnf is refused', async () => {
  const h = await build(validateJwt, base, ctx());
  for (const cnf of [{ jkt: 42 }, { jkt: '' }, 'x', [{ jkt: 'a' }]]) {
    const t = token(issuerKey, { iss: ISS, aud: AUD, cnf });
    const r = await run(h, request([['Authorization', `Bearer ${t}`]]));
    assert.ok(r && r.status === 401, JSON.stringify(cnf));
  }
});

test('a public origin named in dpop.origins is accepted as the htu origin (behind a proxy)', async () => {
  const h = await build(validateJwt, { ...base, dpop: { origins: ['https://api.example.com'] } }, ctx());
  const t = bound();
  assert.equal(await run(h, request(dpop(t, proof(t, { htu: 'https://api.example.com/orders/1' })))), undefined);
  rejected(await run(h, request(dpop(t, proof(t, { htu: 'https://other.example.com/orders/1' })))), 401, 'token-dpop-proof-invalid');
});

test('when the replay store cannot answer, bound tokens get 503 with Retry-After (never accepted unchecked)', async () => {
  // a real Redis store whose server is not there (nothing listens on port 1)
  const down = createStore('redis://127.0.0.1:1', { logger: pino({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }) });
  try {
    const h = await build(validateJwt, base, ctx(() => down));
    const t = bound();
    const r = rejected(await run(h, request(dpop(t))), 503, 'token-dpop-unavailable');
    assert.ok(r.headers?.['retry-after']);
    assert.equal(await run(h, request([['Authorization', `Bearer ${plain()}`]])), undefined, 'unbound tokens do not need the store');
  } finally {
    await down.close();
  }
});

test('dpop.origins must be origins', () => {
  for (const bad of ['https://api.example.com/orders', 'https://api.example.com?x', 'ftp://api.example.com', 'https://u:p@api.example.com', 'api.example.com']) {
    assert.equal(validateJwt.schema.safeParse({ ...base, dpop: { origins: [bad] } }).success, false, bad);
  }
  for (const good of ['https://api.example.com', 'https://API.example.com:8443/', 'http://127.0.0.1:8080']) {
    assert.equal(validateJwt.schema.safeParse({ ...base, dpop: { origins: [good] } }).success, true, good);
  }
});
