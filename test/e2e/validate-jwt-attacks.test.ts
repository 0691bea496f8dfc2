/**
 * Attacks on validate-jwt through the real gateway process, a real backend and a real HTTP
 * identity-provider stub. Every attack must be answered with the right status, reason code and
 * RFC 6750 challenge, and must never reach the backend.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { makeKey, token, signRaw, unsigned, b64, now, startIdp, eventually, type Idp, type TestKey } from '../gateway/jwt/helpers.js';
import { send, type RawResponse } from '../gateway/jwt/http-client.js';

const AUD = 'api://orders';
let gw: RunningGateway;
let backend: TestBackend;
let idp: Idp;
let attacker: Idp;
let rsa: TestKey;
let ec: TestKey;
let es512: TestKey;
let iss: string;

before(async () => {
  rsa = makeKey('RS256', 'rsa-2026');
  ec = makeKey('ES256', 'ec-2026');
  es512 = makeKey('ES512', 'es512-2026');
  idp = await startIdp([rsa, ec, es512]);
  attacker = await startIdp([makeKey('RS256', 'evil')]);
  iss = idp.issuer;
  backend = await startBackend();
  gw = await startGateway(`
gateway: { listen: { http: 0 }, admin: { listen: 0 } }
backends: { echo: { url: "${backend.url}" } }
apis:
  - name: orders
    path: /orders
    backend: echo
    policies:
      inbound:
        - validate-jwt:
            openid-config: "${idp.discoveryUrl}"
            audiences: [${AUD}]
            required-claims: [{ name: scp, match: any, separator: " ", values: [orders.read] }]
            forward-claims: { sub: X-User-Id }
  - name: skew
    path: /skew
    backend: echo
    policies:
      inbound:
        - validate-jwt: { openid-config: "${idp.discoveryUrl}", audiences: [${AUD}], clock-skew: 60s }
`);
  await eventually(async () => (await fetch(`${gw.adminUrl}/readyz`)).status === 200, 10000, 'gateway readiness (keys loaded)');
});

after(async () => {
  await gw?.stop();
  await backend?.close();
  await idp?.close();
  await attacker?.close();
});

const claims = (over: Record<string, unknown> = {}) => ({ iss, aud: AUD, scp: 'orders.read', ...over });
const good = (over: Record<string, unknown> = {}, key: TestKey = rsa, header: Record<string, unknown> = {}) => token(key, claims(over), header);
const auth = (t: string): Array<[string, string]> => [['Authorization', `Bearer ${t}`]];

const INVALID = /^Bearer realm="orders", error="invalid_token", error_description="[^"]+"$/;

/** Send, and assert status, reason code, challenge, and that the backend received nothing. */
async function attack(name: string, path: string, headers: Array<[string, string]>, status: number, code: string | undefined, challenge: RegExp | string | undefined): Promise<RawResponse> {
  const before = backend.requests.length;
  const r = await send(gw.url, path, headers);
  assert.equal(r.status, status, `${name}: status (body ${r.body.slice(0, 200)})`);
  if (code !== undefined) {
    assert.equal(r.json?.code, code, `${name}: reason code`);
    assert.equal(r.json?.type, `urn:gatehouse:problem:${code}`, `${name}: problem type`);
    assert.match(String(r.headers['content-type']), /application\/problem\+json/, name);
  }
  const www = r.headers['www-authenticate'];
  if (challenge === undefined) assert.equal(www, undefined, `${name}: no challenge expected`);
  else if (typeof challenge === 'string') assert.equal(www, challenge, `${name}: challenge`);
  else assert.match(String(www), challenge, `${name}: challenge`);
  assert.doesNotMatch(r.body, /BEGIN|"n":|at [A-Za-z]+ \(|node_modules/, `${name}: nothing internal leaks`);
  assert.equal(backend.requests.length, before, `${name}: the backend must receive nothing`);
  return r;
}

async function accepted(name: string, path: string, headers: Array<[string, string]>) {
  const before = backend.requests.length;
  const r = await send(gw.url, path, headers);
  assert.equal(r.status, 200, `${name}: ${r.body.slice(0, 300)}`);
  assert.equal(backend.requests.length, before + 1, name);
  return backend.requests[backend.requests.length - 1]!;
}

test('control: a valid token reaches the backend with the claim header, a forged one overwritten', async () => {
  const seen = await accepted('valid', '/orders/1', [...auth(good({ sub: 'alice' })), ['X-User-Id', 'admin']]);
  assert.equal(seen.headers['x-user-id'], 'alice');
  await accepted('lowercase scheme', '/orders/1', [['Authorization', `bearer ${good()}`]]);
  await accepted('aud array containing ours', '/orders/1', auth(good({ aud: ['api://other', AUD] })));
  await accepted('ES256', '/orders/1', auth(good({}, ec)));
  await accepted('nbf in the future within skew', '/skew/1', auth(good({ nbf: now() + 30 })));
  await accepted('iat in the future within skew', '/skew/1', auth(good({ iat: now() + 30 })));
});

test('no token: 401 with a bare challenge', async () => {
  await attack('no token', '/orders/1', [], 401, 'token-missing', 'Bearer realm="orders"');
  await attack('basic auth instead', '/orders/1', [['Authorization', 'Basic YWRtaW46YWRtaW4=']], 401, 'token-missing', 'Bearer realm="orders"');
});

test('alg none in every spelling is refused', async () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    await attack(`alg ${alg}`, '/orders/1', auth(unsigned(alg, claims({ exp: now() + 600 }))), 401, 'token-algorithm-not-allowed', INVALID);
  }
  // alg none with a signature appended anyway
  const withSig = `${b64({ alg: 'none', kid: rsa.kid })}.${b64(claims({ exp: now() + 600 }))}.${b64('sig')}`;
  await attack('alg none with a signature', '/orders/1', auth(withSig), 401, 'token-algorithm-not-allowed', INVALID);
});

test('HS256 signed with the RSA public key is refused (PEM and JWK forms, with and without kid)', async () => {
  const payload = { sub: 'mallory', iat: now(), exp: now() + 600, ...claims() };
  await attack('HS256 key=PEM', '/orders/1', auth(signRaw({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, payload, Buffer.from(rsa.pem))), 401, 'token-algorithm-not-allowed', INVALID);
  await attack('HS256 key=JWK', '/orders/1', auth(signRaw({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, payload, Buffer.from(JSON.stringify(rsa.jwk)))), 401, 'token-algorithm-not-allowed', INVALID);
  await attack('HS256 no kid', '/orders/1', auth(signRaw({ alg: 'HS256', typ: 'JWT' }, payload, Buffer.from(rsa.pem))), 401, 'token-algorithm-not-allowed', INVALID);
  await attack('HS512 key=n', '/orders/1', auth(signRaw({ alg: 'HS512', kid: rsa.kid }, payload, Buffer.from(String(rsa.jwk.n), 'base64url'))), 401, 'token-algorithm-not-allowed', INVALID);
});

test('an algorithm the key does not allow is refused (RS256 header on the EC key)', async () => {
  const forged = signRaw({ alg: 'RS256', kid: ec.kid }, { iat: now(), exp: now() + 600, ...claims() }, rsa.privateKey);
  await attack('RS256 on EC kid', '/orders/1', auth(forged), 401, 'token-algorithm-not-allowed', INVALID);
});

test('unknown kid, and kids with path or SQL characters, are refused', async () => {
  const mallory = makeKey('RS256', 'x');
  for (const kid of ['unknown-kid', '../../../../etc/passwd', "' OR '1'='1' --", 'rsa-2026\u0000', '%2e%2e%2f', 'rsa-2026 ']) {
    await attack(`kid ${JSON.stringify(kid)}`, '/orders/1', auth(token(mallory, claims(), { kid })), 401, 'token-signature-invalid', INVALID);
  }
});

test('a valid kid with a signature from another key is refused', async () => {
  const mallory = makeKey('RS256', rsa.kid);
  await attack('kid of ours, key of theirs', '/orders/1', auth(token(mallory, claims())), 401, 'token-signature-invalid', INVALID);
});

test('jku, x5u and embedded jwk headers are never followed or trusted', async () => {
  const evil = attacker.keys[0]!;
  const hitsBefore = attacker.jwksHits + attacker.discoveryHits;
  await attack('jku', '/orders/1', auth(token(evil, claims(), { jku: `${attacker.url}/jwks` })), 401, 'token-signature-invalid', INVALID);
  await attack('x5u', '/orders/1', auth(token(evil, claims(), { x5u: `${attacker.url}/cert.pem` })), 401, 'token-signature-invalid', INVALID);
  await attack('embedded jwk with our kid', '/orders/1', auth(token(evil, claims(), { kid: rsa.kid, jwk: evil.jwk })), 401, 'token-signature-invalid', INVALID);
  await attack('embedded jwk without kid', '/orders/1', auth(token(evil, claims(), { kid: undefined, jwk: evil.jwk })), 401, 'token-signature-invalid', INVALID);
  assert.equal(attacker.jwksHits + attacker.discoveryHits, hitsBefore, 'the attacker URL was never fetched');
});

test('time claims: expired, nbf and iat in the future (with and without skew), missing exp', async () => {
  await attack('expired', '/orders/1', auth(good({ exp: now() - 5 })), 401, 'token-expired', INVALID);
  await attack('expired beyond skew', '/skew/1', auth(good({ exp: now() - 120 })), 401, 'token-expired', /^Bearer realm="skew", error="invalid_token"/);
  await attack('nbf future', '/orders/1', auth(good({ nbf: now() + 30 })), 401, 'token-not-yet-valid', INVALID);
  await attack('nbf beyond skew', '/skew/1', auth(good({ nbf: now() + 300 })), 401, 'token-not-yet-valid', /error="invalid_token"/);
  await attack('iat future', '/orders/1', auth(good({ iat: now() + 30 })), 401, 'token-not-yet-valid', INVALID);
  await attack('iat beyond skew', '/skew/1', auth(good({ iat: now() + 300 })), 401, 'token-not-yet-valid', /error="invalid_token"/);
  const noExp = signRaw({ alg: 'RS256', kid: rsa.kid }, claims(), rsa.privateKey);
  await attack('missing exp', '/orders/1', auth(noExp), 401, 'token-malformed', INVALID);
  await attack('exp as string', '/orders/1', auth(good({ exp: String(now() + 600) })), 401, 'token-malformed', INVALID);
});

test('wrong issuer, wrong audience, audience array without ours', async () => {
  await attack('wrong iss', '/orders/1', auth(good({ iss: 'https://evil.example' })), 401, 'token-issuer-invalid', INVALID);
  await attack('iss with trailing slash', '/orders/1', auth(good({ iss: `${iss}/` })), 401, 'token-issuer-invalid', INVALID);
  await attack('wrong aud', '/orders/1', auth(good({ aud: 'api://billing' })), 401, 'token-audience-invalid', INVALID);
  await attack('aud array without ours', '/orders/1', auth(good({ aud: ['api://a', 'api://b'] })), 401, 'token-audience-invalid', INVALID);
  await attack('no aud', '/orders/1', auth(good({ aud: undefined })), 401, 'token-audience-invalid', INVALID);
});

test('insufficient claims: 403 with insufficient_scope', async () => {
  await attack('missing scope', '/orders/1', auth(good({ scp: 'orders.write' })), 403, 'token-claim-not-allowed', /^Bearer realm="orders", error="insufficient_scope", error_description="[^"]+"$/);
});

test('broken signatures: empty, of another token, truncated, DER-encoded ECDSA', async () => {
  const t = good();
  const dot = t.lastIndexOf('.');
  await attack('empty signature', '/orders/1', auth(t.slice(0, dot + 1)), 401, 'token-signature-invalid', INVALID);
  const other = good({ sub: 'someone-else' });
  await attack('signature of another token', '/orders/1', auth(t.slice(0, dot) + other.slice(other.lastIndexOf('.'))), 401, 'token-signature-invalid', INVALID);
  await attack('truncated signature', '/orders/1', auth(t.slice(0, -10)), 401, 'token-signature-invalid', INVALID);
  await attack('truncated to two parts', '/orders/1', auth(t.slice(0, dot)), 401, 'token-malformed', INVALID);
  const e = good({}, ec);
  const raw = Buffer.from(e.slice(e.lastIndexOf('.') + 1), 'base64url');
  const der = Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), raw.subarray(0, 32), Buffer.from([0x02, 0x20]), raw.subarray(32)]);
  await attack('ECDSA DER signature', '/orders/1', auth(`${e.slice(0, e.lastIndexOf('.'))}.${der.toString('base64url')}`), 401, 'token-signature-invalid', INVALID);
});

test('malformed tokens: bad base64, payload not JSON, payload a JSON array, JWE, crit, odd typ', async () => {
  const [h] = good().split('.');
  await attack('bad base64', '/orders/1', auth(`${h}.eyJzdWIiOiJ4In0*.c2ln`), 401, 'token-malformed', INVALID);
  await attack('payload not JSON', '/orders/1', auth(`${h}.${b64('not json')}.c2ln`), 401, 'token-malformed', INVALID);
  await attack('payload JSON array', '/orders/1', auth(signRaw({ alg: 'RS256', kid: rsa.kid }, [claims()], rsa.privateKey)), 401, 'token-malformed', INVALID);
  await attack('header not JSON', '/orders/1', auth(`${b64('{"alg":')}.${b64({})}.c2ln`), 401, 'token-malformed', INVALID);
  await attack('JWE (five parts)', '/orders/1', auth(`${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`), 401, 'token-malformed', INVALID);
  await attack('crit header', '/orders/1', auth(good({}, rsa, { crit: ['exp'] })), 401, 'token-malformed', INVALID);
  await attack('typ JWE', '/orders/1', auth(good({}, rsa, { typ: 'JWE' })), 401, 'token-malformed', INVALID);
  await attack('garbage', '/orders/1', auth('not-a-token'), 401, 'token-malformed', INVALID);
});

test('ambiguous requests: tokens in header and query, two Authorization headers', async () => {
  const t = good();
  await attack('header + query', `/orders/1?access_token=${t}`, auth(t), 400, 'token-ambiguous', /^Bearer realm="orders", error="invalid_request"/);
  await attack('header + percent-encoded query name', `/orders/1?access%5Ftoken=${good({ sub: 'x' })}`, auth(t), 400, 'token-ambiguous', /error="invalid_request"/);
  await attack('two Authorization headers', '/orders/1', [['Authorization', `Bearer ${t}`], ['Authorization', `Bearer ${good({ sub: 'x' })}`]], 400, 'token-ambiguous', /error="invalid_request"/);
  await attack('two Authorization headers, one not bearer', '/orders/1', [['Authorization', 'Basic eA=='], ['Authorization', `Bearer ${t}`]], 400, 'token-ambiguous', /error="invalid_request"/);
});

test('odd scheme spacing is refused', async () => {
  const t = good();
  await attack('two spaces', '/orders/1', [['Authorization', `Bearer  ${t}`]], 401, 'token-malformed', INVALID);
  await attack('tab', '/orders/1', [['Authorization', `Bearer\t${t}`]], 401, 'token-malformed', INVALID);
  await attack('two tokens', '/orders/1', [['Authorization', `Bearer ${t} ${t}`]], 401, 'token-malformed', INVALID);
  await attack('no token', '/orders/1', [['Authorization', 'Bearer']], 401, 'token-malformed', INVALID);
  await attack('no space', '/orders/1', [['Authorization', `Bearer${t}`]], 401, 'token-missing', 'Bearer realm="orders"');
});

test('oversized tokens: over max-token-size is refused unparsed; 100 KB is stopped by the listener', async () => {
  await attack('10 KB token', '/orders/1', auth('a'.repeat(10 * 1024)), 401, 'token-too-large', INVALID);
  const before = backend.requests.length;
  const r = await send(gw.url, '/orders/1', auth(`${good().slice(0, 50)}${'A'.repeat(100 * 1024)}`)).catch(() => ({ status: 431 } as RawResponse));
  assert.equal(r.status, 431);
  assert.equal(backend.requests.length, before);
});

test('a flood of ES512 tokens with forged kids fetches the JWKS at most once per cooldown', async () => {
  const mallory = makeKey('ES512', 'x');
  const hitsBefore = idp.jwksHits;
  const before = backend.requests.length;
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => send(gw.url, '/orders/1', auth(token(mallory, claims(), { kid: `forged-${i}` })))));
  for (const r of results) {
    assert.equal(r.status, 401);
    assert.equal(r.json?.code, 'token-signature-invalid');
    assert.match(String(r.headers['www-authenticate']), INVALID);
  }
  assert.ok(idp.jwksHits - hitsBefore <= 1, `JWKS fetched ${idp.jwksHits - hitsBefore} times`);
  assert.equal(backend.requests.length, before);
  // and the gateway still serves valid tokens
  await accepted('valid after the flood', '/orders/1', auth(good({}, es512)));
});
