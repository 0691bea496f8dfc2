import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateJwt } from '../../../src/gateway/policies/validate-jwt.js';
import { stripQueryParam } from '../../../src/gateway/jwt/http.js';
import { ConfigError } from '../../../src/config/errors.js';
import type { Reply } from '../../../src/gateway/reply.js';
import { build, exchange, run, testContext, type TestContext } from '../jwt/context.js';
import { makeKey, token, signRaw, unsigned, now, startIdp, eventually, type Idp } from '../jwt/helpers.js';

const rsa = makeKey('RS256', 'rsa-1');
const ec = makeKey('ES256', 'ec-1');
const ISS = 'https://idp.example';
const AUD = 'api://orders';
const base = { 'issuer-signing-keys': [{ jwk: rsa.jwk }, { pem: ec.pem, kid: 'ec-1' }], issuers: [ISS], audiences: [AUD] };
const good = (claims: Record<string, unknown> = {}, key = rsa) => token(key, { iss: ISS, aud: AUD, ...claims });
const bearer = (t: string): Array<[string, string]> => [['Authorization', `Bearer ${t}`]];

const contexts: TestContext[] = [];
const idps: Idp[] = [];
after(async () => {
  for (const c of contexts) await c.close();
  for (const i of idps) await i.close();
});
function ctx(over: Parameters<typeof testContext>[0] = {}): TestContext {
  const c = testContext(over);
  contexts.push(c);
  return c;
}

function assertRejected(r: Reply | undefined, status: number, code: string): Reply {
  assert.ok(r, `expected a ${status} ${code} rejection, the request continued`);
  assert.equal(r.status, status);
  assert.equal(r.problem?.code, code);
  return r;
}

test('accepts a valid token and exposes its claims to later policies', async () => {
  const h = await build(validateJwt, { ...base, 'output-token-variable-name': 'jwt' });
  const ex = exchange({ headers: bearer(good({ sub: 'alice' })) });
  assert.equal(await run(h, ex), undefined);
  assert.equal(ex.claims?.sub, 'alice');
  assert.equal((ex.vars?.jwt as Record<string, unknown>).sub, 'alice');
});

test('accepts ES256 through a PEM key with a configured kid', async () => {
  const h = await build(validateJwt, base);
  assert.equal(await run(h, exchange({ headers: bearer(good({}, ec)) })), undefined);
});

test('a missing token gets a challenge without an error attribute (RFC 6750 §3.1)', async () => {
  const h = await build(validateJwt, base);
  const r = assertRejected(await run(h, exchange()), 401, 'token-missing');
  assert.equal(r.headers?.['www-authenticate'], 'Bearer realm="orders"');
  const basic = assertRejected(await run(h, exchange({ headers: [['Authorization', 'Basic dXNlcjpwdw==']] })), 401, 'token-missing');
  assert.equal(basic.headers?.['www-authenticate'], 'Bearer realm="orders"');
});

test('an invalid token gets error="invalid_token" with a description', async () => {
  const h = await build(validateJwt, { ...base, realm: 'shop' });
  const r = assertRejected(await run(h, exchange({ headers: bearer(good({ aud: 'api://other' })) })), 401, 'token-audience-invalid');
  assert.match(String(r.headers?.['www-authenticate']), /^Bearer realm="shop", error="invalid_token", error_description="[^"]+"$/);
});

test('failed-validation-httpcode and failed-validation-error-message shape the rejection', async () => {
  const h = await build(validateJwt, { ...base, 'failed-validation-httpcode': 403, 'failed-validation-error-message': 'Nope.' });
  const r = assertRejected(await run(h, exchange({ headers: bearer(good({ exp: now() - 10 })) })), 403, 'token-expired');
  assert.equal(r.problem?.detail, 'Nope.');
});

test('required-claims failure is 403 insufficient_scope, or the configured status', async () => {
  const rules = { 'required-claims': [{ name: 'scp', match: 'any', separator: ' ', values: ['orders.write'] }] };
  const h = await build(validateJwt, { ...base, ...rules });
  assert.equal(await run(h, exchange({ headers: bearer(good({ scp: 'orders.read orders.write' })) })), undefined);
  const r = assertRejected(await run(h, exchange({ headers: bearer(good({ scp: 'orders.read' })) })), 403, 'token-claim-not-allowed');
  assert.match(String(r.headers?.['www-authenticate']), /error="insufficient_scope"/);
  const h401 = await build(validateJwt, { ...base, ...rules, 'claims-failure-httpcode': 401 });
  assertRejected(await run(h401, exchange({ headers: bearer(good({ scp: 'orders.read' })) })), 401, 'token-claim-not-allowed');
});

test('exp, nbf and iat are honoured with the configured clock skew', async () => {
  const strict = await build(validateJwt, base);
  const lenient = await build(validateJwt, { ...base, 'clock-skew': '60s' });
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ exp: now() - 30 }, 'token-expired'],
    [{ nbf: now() + 30 }, 'token-not-yet-valid'],
    [{ iat: now() + 30 }, 'token-not-yet-valid'],
  ];
  for (const [claims, code] of cases) {
    assertRejected(await run(strict, exchange({ headers: bearer(good(claims)) })), 401, code);
    assert.equal(await run(lenient, exchange({ headers: bearer(good(claims)) })), undefined, `${code} within skew`);
    const far = Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, (v as number) + ((v as number) > now() ? 120 : -120)]));
    assertRejected(await run(lenient, exchange({ headers: bearer(good(far)) })), 401, code);
  }
});

test('exp is required unless require-expiration-time is false', async () => {
  const t = signRaw({ alg: 'RS256', kid: rsa.kid }, { iss: ISS, aud: AUD, sub: 'x' }, rsa.privateKey);
  assertRejected(await run(await build(validateJwt, base), exchange({ headers: bearer(t) })), 401, 'token-malformed');
  assert.equal(await run(await build(validateJwt, { ...base, 'require-expiration-time': false }), exchange({ headers: bearer(t) })), undefined);
});

test('non-numeric time claims are malformed', async () => {
  const h = await build(validateJwt, base);
  for (const claims of [{ exp: String(now() + 60) }, { nbf: 'yesterday' }, { iat: null }]) {
    assertRejected(await run(h, exchange({ headers: bearer(good(claims)) })), 401, 'token-malformed');
  }
});

test('issuer: configured issuers accepted, others refused, missing refused', async () => {
  const h = await build(validateJwt, base);
  assertRejected(await run(h, exchange({ headers: bearer(good({ iss: 'https://evil.example' })) })), 401, 'token-issuer-invalid');
  assertRejected(await run(h, exchange({ headers: bearer(good({ iss: undefined })) })), 401, 'token-issuer-invalid');
});

test('audience: a string or an array containing an accepted audience', async () => {
  const h = await build(validateJwt, base);
  assert.equal(await run(h, exchange({ headers: bearer(good({ aud: ['api://x', AUD] })) })), undefined);
  assertRejected(await run(h, exchange({ headers: bearer(good({ aud: ['api://x', 'api://y'] })) })), 401, 'token-audience-invalid');
  assertRejected(await run(h, exchange({ headers: bearer(good({ aud: undefined })) })), 401, 'token-audience-invalid');
  assertRejected(await run(h, exchange({ headers: bearer(good({ aud: [{ AUD }] })) })), 401, 'token-audience-invalid');
});

test('a token accepted for one configuration is never served from cache to another', async () => {
  const orders = await build(validateJwt, base);
  const billing = await build(validateJwt, { ...base, audiences: ['api://billing'] });
  const t = good();
  assert.equal(await run(orders, exchange({ headers: bearer(t) })), undefined);
  assert.equal(await run(orders, exchange({ headers: bearer(t) })), undefined);
  assertRejected(await run(billing, exchange({ headers: bearer(t) })), 401, 'token-audience-invalid');
});

test('a cached token stops being accepted when it expires', async () => {
  const h = await build(validateJwt, base);
  const t = good({ exp: now() + 1 });
  assert.equal(await run(h, exchange({ headers: bearer(t) })), undefined);
  const exp = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).exp as number;
  await eventually(() => Date.now() / 1000 >= exp, 4000, 'the token to expire');
  assertRejected(await run(h, exchange({ headers: bearer(t) })), 401, 'token-expired');
});

test('forward-claims overwrite a forged header, and remove it when the claim is absent', async () => {
  const h = await build(validateJwt, { ...base, 'forward-claims': { sub: 'X-User-Id', tid: 'X-Tenant', roles: 'X-Roles', name: 'X-Name' } });
  for (let round = 0; round < 2; round++) { // the second round is a cache hit
    const t = good({ sub: 'alice', roles: ['a', 'b'], name: 'Zoë' });
    const ex = exchange({ headers: [...bearer(t), ['X-User-Id', 'admin'], ['X-Tenant', 'forged'], ['x-roles', 'root']] });
    assert.equal(await run(h, ex), undefined);
    assert.equal(ex.upstreamHeaders['x-user-id'], 'alice');
    assert.equal(ex.upstreamHeaders['x-tenant'], undefined, `round ${round}: forged header for an absent claim must be removed`);
    assert.equal(ex.upstreamHeaders['x-roles'], 'a,b');
    assert.equal(ex.upstreamHeaders['x-name'], 'Zo%C3%AB');
  }
});

test('forward-token false removes the token from the header, the cookie or the query', async () => {
  const h = await build(validateJwt, { ...base, 'forward-token': false });
  const ex = exchange({ headers: bearer(good()) });
  assert.equal(await run(h, ex), undefined);
  assert.equal(ex.upstreamHeaders.authorization, undefined);
  const hc = await build(validateJwt, { ...base, 'cookie-name': 'at', 'forward-token': false });
  const exc = exchange({ headers: [['Cookie', `theme=dark; at=${good()}; lang=en`]] });
  assert.equal(await run(hc, exc), undefined);
  assert.equal(exc.upstreamHeaders.cookie, 'theme=dark; lang=en');
  const hq = await build(validateJwt, { ...base, 'query-parameter-name': 'token', 'forward-token': false });
  const exq = exchange({ query: `a=1&token=${good()}&b=%20x` });
  assert.equal(await run(hq, exq), undefined);
  assert.equal(exq.backendQuery, 'a=1&b=%20x');
  assert.equal(stripQueryParam('to%6Ben=x&a=b+c&token&z', 'token'), 'a=b+c&z');
  const keep = await build(validateJwt, base);
  const ex2 = exchange({ headers: bearer(good()) });
  await run(keep, ex2);
  assert.ok(ex2.upstreamHeaders.authorization);
});

test('reads the token from a custom header, query parameter or cookie', async () => {
  const t = good();
  const hh = await build(validateJwt, { ...base, 'header-name': 'X-Token', 'require-scheme': '' });
  assert.equal(await run(hh, exchange({ headers: [['X-Token', t]] })), undefined);
  const hq = await build(validateJwt, { ...base, 'query-parameter-name': 'access_token' });
  assert.equal(await run(hq, exchange({ query: `access_token=${t}` })), undefined);
  assertRejected(await run(hq, exchange({ query: `access_token=${t}&access_token=${t}` })), 400, 'token-ambiguous');
  assertRejected(await run(hq, exchange({ query: `access_token=${t}`, headers: bearer(t) })), 400, 'token-ambiguous');
  const hb = await build(validateJwt, base);
  assertRejected(await run(hb, exchange({ query: `access%5Ftoken=${t}`, headers: bearer(t) })), 400, 'token-ambiguous');
  const hc = await build(validateJwt, { ...base, 'cookie-name': 'at' });
  assert.equal(await run(hc, exchange({ headers: [['Cookie', `at=${t}`]] })), undefined);
  assertRejected(await run(hc, exchange({ headers: [['Cookie', `at=${t}`], ['Cookie', `at=${t}`]] })), 400, 'token-ambiguous');
});

test('scheme: case-insensitive, exactly one space, one token', async () => {
  const h = await build(validateJwt, base);
  const t = good();
  for (const v of [`bearer ${t}`, `BEARER ${t}`]) assert.equal(await run(h, exchange({ headers: [['Authorization', v]] })), undefined, v);
  for (const v of [`Bearer  ${t}`, `Bearer\t${t}`, `Bearer ${t} extra`, `Bearer ${t},${t}`, 'Bearer ']) {
    assertRejected(await run(h, exchange({ headers: [['Authorization', v]] })), 401, 'token-malformed');
  }
});

test('HS256 works with a configured secret, and a token HMAC-signed with the public key is refused', async () => {
  const secret = Buffer.alloc(32, 3);
  const h = await build(validateJwt, { ...base, 'issuer-signing-keys': [{ secret: secret.toString('base64') }, { jwk: rsa.jwk }] });
  const ok = signRaw({ alg: 'HS256' }, { iss: ISS, aud: AUD, exp: now() + 60 }, secret);
  assert.equal(await run(h, exchange({ headers: bearer(ok) })), undefined);
  // the classic confusion: HS256 keyed with the RSA public key, naming the RSA key's kid
  const forged = signRaw({ alg: 'HS256', kid: rsa.kid }, { iss: ISS, aud: AUD, exp: now() + 60 }, Buffer.from(rsa.pem));
  assertRejected(await run(h, exchange({ headers: bearer(forged) })), 401, 'token-algorithm-not-allowed');
  const forgedNoKid = signRaw({ alg: 'HS256' }, { iss: ISS, aud: AUD, exp: now() + 60 }, Buffer.from(rsa.pem));
  assertRejected(await run(h, exchange({ headers: bearer(forgedNoKid) })), 401, 'token-signature-invalid');
});

test('unsigned tokens are refused by default and accepted only with require-signed-tokens false', async () => {
  const t = unsigned('none', { iss: ISS, aud: AUD, exp: now() + 60 });
  assertRejected(await run(await build(validateJwt, base), exchange({ headers: bearer(t) })), 401, 'token-algorithm-not-allowed');
  assert.equal(await run(await build(validateJwt, { ...base, 'require-signed-tokens': false }), exchange({ headers: bearer(t) })), undefined);
});

test('the algorithms allow-list narrows what keys allow', async () => {
  const h = await build(validateJwt, { ...base, algorithms: ['ES256'] });
  assertRejected(await run(h, exchange({ headers: bearer(good()) })), 401, 'token-algorithm-not-allowed');
  assert.equal(await run(h, exchange({ headers: bearer(good({}, ec)) })), undefined);
});

test('a token over max-token-size is refused before parsing', async () => {
  const h = await build(validateJwt, { ...base, 'max-token-size': '1kb' });
  assertRejected(await run(h, exchange({ headers: bearer('a'.repeat(2000)) })), 401, 'token-too-large');
});

test('refuses unusable configurations with a ConfigError at the right path', async () => {
  const cases: Array<[unknown, string]> = [
    [{ audiences: [AUD] }, ''],
    [{ ...base, 'cookie-name': 'a', 'query-parameter-name': 'b' }, ''],
    [{ ...base, algorithms: ['HS256'] }, 'algorithms.0'],
    [{ ...base, 'forward-claims': { sub: 'Authorization' } }, 'forward-claims.sub'],
    [{ ...base, 'forward-claims': { sub: 'Host' } }, 'forward-claims.sub'],
    [{ 'issuer-signing-keys': [{ jwk: makeKey('RS1024', 'x').jwk }] }, 'issuer-signing-keys.0'],
    [{ 'issuer-signing-keys': [{ jwk: rsa.jwk, pem: ec.pem }] }, 'issuer-signing-keys.0'],
    [{ 'issuer-signing-keys': [{ file: 'does-not-exist.pem' }] }, 'issuer-signing-keys.0.file'],
    [{ 'openid-config': 'http://idp.example/.well-known/openid-configuration' }, 'openid-config'],
    [{ 'openid-config': ['https://idp.example/keys'] }, 'openid-config.0'],
  ];
  for (const [raw, path] of cases) {
    await assert.rejects(build(validateJwt, raw, ctx()), (e: unknown) => e instanceof ConfigError && e.path.join('.') === path, JSON.stringify(raw).slice(0, 120));
  }
  assert.throws(() => validateJwt.schema.parse({ ...base, 'clock-skew': '10m' }));
  assert.throws(() => validateJwt.schema.parse({ ...base, 'unknown-key': 1 }));
});

test('loads keys from a file holding a JWKS or a PEM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [rsa.jwk] }));
  writeFileSync(join(dir, 'ec.pem'), ec.pem);
  const h = await build(validateJwt, { ...base, 'issuer-signing-keys': [{ file: 'jwks.json' }, { file: 'ec.pem', kid: 'ec-1' }] }, ctx({ configDir: dir }));
  assert.equal(await run(h, exchange({ headers: bearer(good()) })), undefined);
  assert.equal(await run(h, exchange({ headers: bearer(good({}, ec)) })), undefined);
});

test('answers 503 with Retry-After until the discovery keys are loaded, then validates', async () => {
  const idp = await startIdp([rsa]);
  idps.push(idp);
  idp.mode = 'down';
  const c = ctx();
  const h = await build(validateJwt, { 'openid-config': idp.discoveryUrl, audiences: [AUD], 'keys-refresh-cooldown': '0.1s' }, c);
  const check = [...c.checks.values()][0]!;
  assert.equal(check(), false);
  const t = token(rsa, { iss: idp.issuer, aud: AUD });
  const r = assertRejected(await run(h, exchange({ headers: bearer(t) })), 503, 'token-keys-unavailable');
  assert.ok(Number(r.headers?.['retry-after']) > 0);
  idp.mode = 'ok';
  await eventually(check, 5000, 'readiness');
  assert.equal(await run(h, exchange({ headers: bearer(t) })), undefined);
  // the discovery issuer is bound to its keys: a token claiming another issuer is refused
  assertRejected(await run(h, exchange({ headers: bearer(token(rsa, { iss: 'https://evil.example', aud: AUD })) })), 401, 'token-issuer-invalid');
});

test('one key source per discovery URL is shared by every validate-jwt naming it', async () => {
  const idp = await startIdp([rsa]);
  idps.push(idp);
  const c = ctx();
  await build(validateJwt, { 'openid-config': idp.discoveryUrl, audiences: ['a'] }, c);
  await build(validateJwt, { 'openid-config': idp.discoveryUrl, audiences: ['b'] }, c);
  await eventually(() => [...c.checks.values()].every((f) => f()));
  assert.equal(idp.discoveryHits, 1);
  await c.close();
});

test('a config reload with the same discovery URL reuses the loaded keys (no 503 window)', async () => {
  const idp = await startIdp([rsa]);
  idps.push(idp);
  const raw = { 'openid-config': idp.discoveryUrl, audiences: [AUD] };
  const first = ctx();
  await build(validateJwt, raw, first);
  await eventually(() => [...first.checks.values()].every((f) => f()));
  const second = ctx();
  const h = await build(validateJwt, raw, second);
  assert.ok([...second.checks.values()].every((f) => f()), 'ready at once');
  await first.close();
  assert.equal(await run(h, exchange({ headers: bearer(token(rsa, { iss: idp.issuer, aud: AUD })) })), undefined);
  assert.equal(idp.discoveryHits, 1);
});

test('cached claims are immutable, so one request cannot change what the next one sees', async () => {
  const h = await build(validateJwt, base);
  const t = good({ roles: ['user'] });
  const ex1 = exchange({ headers: bearer(t) });
  await run(h, ex1);
  assert.throws(() => { (ex1.claims as Record<string, unknown>).roles = ['admin']; });
  assert.throws(() => { ((ex1.claims as Record<string, unknown>).roles as string[]).push('admin'); });
  const ex2 = exchange({ headers: bearer(t) });
  await run(h, ex2);
  assert.deepEqual(ex2.claims?.roles, ['user']);
});

test('forward-claims never forwards inherited properties', async () => {
  const h = await build(validateJwt, { ...base, 'forward-claims': { constructor: 'X-C', 'org.id': 'X-Org' } });
  const ex = exchange({ headers: [...bearer(good({ org: { id: 'o-1' } })), ['X-C', 'forged']] });
  assert.equal(await run(h, ex), undefined);
  assert.equal(ex.upstreamHeaders['x-c'], undefined);
  assert.equal(ex.upstreamHeaders['x-org'], 'o-1');
});
