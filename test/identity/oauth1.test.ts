import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, decodeJwt, freePort, startTestIdentity, tokenRequest, type TestIdentity } from './helpers.js';
import { identitySchema } from '../../src/identity/schema.js';
import { resolveConnector } from '../../src/identity/federation/presets.js';
import { authorizationHeader, hmacSha1, parseAuthorizationHeader, percentEncode, signatureBaseString } from '../../src/identity/connectors/oauth1-sign.js';
import { openDownstream, pressConnector, RP } from './federation-rig.js';
import { startOAuth1Upstream, type OAuth1Upstream } from './oauth1-rig.js';

/**
 * OAuth 1.0a: the signing against RFC 5849's own examples, then the connector (preset `x`)
 * end to end against a provider that verifies signatures, timestamps and nonces, and the
 * attacks on it: token secret confusion, a missing or forged verifier, a replayed callback,
 * an upstream refusing our timestamp or nonce.
 */

describe('OAuth 1.0a signing: the examples of RFC 5849', () => {
  test('§3.4.1.1: the signature base string of the example request (query, body, encoded names and values)', () => {
    const url = new URL('http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b');
    const params: Array<[string, string]> = [
      ['oauth_consumer_key', '9djdj82h48djs9d2'], ['oauth_token', 'kkk9d7dh3k39sjv7'], ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '137131201'], ['oauth_nonce', '7d8f3e4a'], ['oauth_signature', 'bYT5CMsGcbgUdFHObYMEfcx6bsw='], ['realm', 'Example'],
      ...new URLSearchParams('c2&a3=2+q'),
    ];
    assert.equal(signatureBaseString('POST', url, params),
      'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7');
  });

  const consumerSecret = 'kd94hf93k423kf44';
  const common = (ts: string, nonce: string): Array<[string, string]> => [['oauth_consumer_key', 'dpf43f3p2l4k3l03'], ['oauth_signature_method', 'HMAC-SHA1'], ['oauth_timestamp', ts], ['oauth_nonce', nonce]];

  test('§1.2: the token request (request-token secret) and the protected resource request (query parameters, access-token secret)', () => {
    const token = signatureBaseString('POST', new URL('https://photos.example.net/token'), [...common('137131201', 'walatlh'), ['oauth_token', 'hh5s93j4hdidpola'], ['oauth_verifier', 'hfdp7dh39dks9884']]);
    assert.equal(hmacSha1(token, consumerSecret, 'hdhd0244k9j7ao03'), 'gKgrFCywp7rO0OXSjdot/IHF7IU=');
    const photos = signatureBaseString('GET', new URL('http://photos.example.net/photos?file=vacation.jpg&size=original'), [...common('137131202', 'chapoH'), ['oauth_token', 'nnch734d00sl2jdk']]);
    assert.equal(photos, 'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal');
    assert.equal(hmacSha1(photos, consumerSecret, 'pfkkdhi9sl3r4s00'), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=');
  });

  test('§1.2: the temporary credentials request (empty token secret)', () => {
    const initiate = signatureBaseString('POST', new URL('https://photos.example.net/initiate'), [...common('137131200', 'wIjqoS'), ['oauth_callback', 'http://printer.example.com/ready'], ['realm', 'Photos']]);
    assert.equal(initiate, 'POST&https%3A%2F%2Fphotos.example.net%2Finitiate&oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DwIjqoS%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131200');
    // the RFC prints 74KNZJeDHnMBp0EMJ9ZPk9ruVfc= here, which does not follow from its own inputs:
    // the same code reproduces the two other §1.2 signatures exactly (above)
    assert.equal(hmacSha1(initiate, consumerSecret), '74KNZJeDHnMBp0EMJ9ZHt/XKycU=');
  });

  test('§3.6 percent-encoding, and a signed header that parses back and verifies', () => {
    assert.equal(percentEncode("a-._~ *!'()/é"), 'a-._~%20%2A%21%27%28%29%2F%C3%A9');
    const url = new URL('https://api.example.com/1.1/me?include_email=true');
    const h = authorizationHeader('GET', url, { consumerKey: 'ck', consumerSecret: 'cs', token: 't', tokenSecret: 'ts' });
    const p = parseAuthorizationHeader(h)!;
    assert.equal(hmacSha1(signatureBaseString('GET', url, p), 'cs', 'ts'), p.get('oauth_signature'));
    assert.notEqual(authorizationHeader('GET', url, { consumerKey: 'ck', consumerSecret: 'cs' }), authorizationHeader('GET', url, { consumerKey: 'ck', consumerSecret: 'cs' }), 'a fresh nonce each time');
    assert.equal(parseAuthorizationHeader('OAuth a="1", a="2"'), undefined, 'a parameter given twice');
    assert.equal(parseAuthorizationHeader('Bearer x'), undefined);
  });
});

const CLIENTS = [{ 'client-id': RP.clientId, public: true, 'grant-types': ['authorization_code'], 'redirect-uris': [RP.redirect], scopes: ['orders.read'] }];

describe('federation: OAuth 1.0a connector (preset x) against an RFC 5849 provider', () => {
  let x: OAuth1Upstream;
  let down: TestIdentity;

  before(async () => {
    x = await startOAuth1Upstream();
    down = await startTestIdentity({
      apis: [{ audience: 'api://orders', scopes: ['orders.read'] }], clients: CLIENTS,
      federation: [{
        id: 'x', type: 'oauth1', preset: 'x', 'client-id': x.consumer.key, 'client-secret': x.consumer.secret, accounts: { create: true },
        'request-token-endpoint': `${x.url}/oauth/request_token`, 'authorization-endpoint': `${x.url}/oauth/authenticate`,
        'token-endpoint': `${x.url}/oauth/access_token`, 'userinfo-endpoint': `${x.url}/1.1/account/verify_credentials.json?include_email=true&skip_status=true`,
      }],
    }, { port: await freePort() });
  });

  after(async () => {
    await down?.stop();
    await x?.close();
  });

  /** press "Sign in with X": the browser, and where it is sent */
  async function begin() {
    const { b, first } = await openDownstream(down);
    const { res } = await b.follow(first);
    const r = await pressConnector(b, await res.text(), 'x');
    return { b, r, upstream: r.status === 303 ? new URL(r.headers.get('location')!) : undefined };
  }

  async function deliver(b: Browser, back: URL) {
    const r = await b.get(back.href);
    if (r.status !== 303) return { status: r.status, html: await r.text() };
    const { res, url } = await b.follow(r);
    return { status: res.status, html: res.status === 200 ? await res.text() : '', code: url.startsWith(RP.redirect) ? new URL(url).searchParams.get('code') ?? undefined : undefined };
  }

  const refusedWith = (reason: RegExp) => down.logs.some((l) => l.msg === 'upstream answer refused' && reason.test(String(l.reason ?? l.message ?? '') + String(l.problem ?? '')));

  test('request token → authenticate → callback with oauth_token + oauth_verifier → access token → signed profile call: a token with idp x and the mapped claims', async () => {
    const { b, upstream } = await begin();
    assert.equal(upstream!.origin + upstream!.pathname, `${x.url}/oauth/authenticate`);
    assert.ok(upstream!.searchParams.get('oauth_token'));
    const back = await x.authorize(upstream!.href, 'jack');
    assert.equal(back.origin + back.pathname, `${down.issuer}/federation/x/callback`);
    assert.ok(back.searchParams.get('state'), 'our state came back through oauth_callback');
    const done = await deliver(b, back);
    assert.ok(done.code, done.html.slice(0, 400));
    const t = await tokenRequest(down, { grant_type: 'authorization_code', client_id: RP.clientId, code: done.code!, redirect_uri: RP.redirect, code_verifier: RP.verifier });
    assert.equal(t.status, 200, t.text);
    assert.equal(decodeJwt(t.json.access_token).payload.idp, 'x');
    const row = await down.services.db.one<{ subject: string; user_id: string }>("SELECT subject, user_id FROM federated_identities WHERE connector = 'x'");
    assert.equal(row!.subject, '1420000000000000001', 'id_str: the number is over 2^53');
    const u = await down.services.users.get(row!.user_id);
    assert.equal(u!.email, 'jack@example.com', 'X gives an address only when it is verified');
    assert.equal(u!.attributes.x_screen_name, 'jack');
    assert.equal(u!.attributes.name, 'Jack Example');
  });

  describe('attacks', () => {
    test('token secret confusion: an oauth_token + verifier of the attacker\'s sign-in is refused, with the attacker\'s state or the victim\'s', async () => {
      const attacker = await begin();
      const attackerBack = await x.authorize(attacker.upstream!.href, 'mallory');
      // the attacker's whole callback opened in the victim's browser: not the browser that began
      const victim = await begin();
      const r = await victim.b.get(attackerBack.href);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /started in another browser/);
      // the attacker's token and verifier under the victim's own state: not this sign-in's request token
      const forged = await x.authorize(victim.upstream!.href, 'jack');
      forged.searchParams.set('oauth_token', attackerBack.searchParams.get('oauth_token')!);
      forged.searchParams.set('oauth_verifier', attackerBack.searchParams.get('oauth_verifier')!);
      const done = await deliver(victim.b, forged);
      assert.equal(done.code, undefined);
      assert.match(done.html, /Signing in with X did not succeed/);
      assert.ok(refusedWith(/not the request token of this sign-in/));
      assert.ok(!x.exchanged.includes(attackerBack.searchParams.get('oauth_token')!), 'the attacker\'s request token was never exchanged');
    });

    test('a missing or a forged verifier is refused with a clear page', async () => {
      for (const verifier of [undefined, 'forged-verifier']) {
        const { b, upstream } = await begin();
        const back = await x.authorize(upstream!.href, 'jack');
        if (verifier) back.searchParams.set('oauth_verifier', verifier);
        else back.searchParams.delete('oauth_verifier');
        const done = await deliver(b, back);
        assert.equal(done.code, undefined, String(verifier));
        assert.match(done.html, /Signing in with X did not succeed/);
      }
      assert.ok(refusedWith(/no oauth_verifier/));
      assert.ok(refusedWith(/verifier_invalid/), 'the upstream refused the forged verifier');
    });

    test('a replayed callback is refused (its state is spent)', async () => {
      const { b, upstream } = await begin();
      const back = await x.authorize(upstream!.href, 'jack');
      assert.ok((await deliver(b, back)).code);
      const replay = await b.get(back.href);
      assert.equal(replay.status, 400);
      assert.match(await replay.text(), /completed already or has expired/);
    });

    test('the upstream refusing our timestamp (clock skew) or nonce: a clear page at begin and at the callback', async () => {
      try {
        x.control.skew = 3600;
        const early = await begin();
        assert.equal(early.r.status, 502);
        assert.match(await early.r.text(), /Signing in with X is not available right now/);
        assert.ok(down.logs.some((l) => l.msg === 'upstream request token refused' && l.problem === 'timestamp_refused'));
        x.control.skew = 0;
        const late = await begin();
        const back = await x.authorize(late.upstream!.href, 'jack');
        x.control.nonceSeen = true;
        const done = await deliver(late.b, back);
        assert.equal(done.code, undefined);
        assert.match(done.html, /Signing in with X did not succeed/);
        assert.ok(refusedWith(/nonce_used/));
      } finally { Object.assign(x.control, { skew: 0, nonceSeen: false }); }
    });

    test('the user declining at the upstream (denied) signs nothing in', async () => {
      const { b, upstream } = await begin();
      const back = await x.authorize(upstream!.href, 'jack');
      const denied = new URL(back.href);
      denied.searchParams.delete('oauth_verifier');
      denied.searchParams.delete('oauth_token');
      denied.searchParams.set('denied', upstream!.searchParams.get('oauth_token')!);
      const done = await deliver(b, denied);
      assert.equal(done.code, undefined);
      assert.match(done.html, /did not succeed/);
    });
  });

  test('the test provider is strict (RFC 5849 §3.2): a wrong signature, a reused nonce and an old timestamp are refused', async () => {
    const url = new URL(`${x.url}/oauth/request_token`);
    const post = (authorization: string) => fetch(url, { method: 'POST', headers: { authorization } }).then(async (r) => `${r.status} ${await r.text()}`);
    const callback = { oauth_callback: `${down.issuer}/federation/x/callback` };
    assert.match(await post(authorizationHeader('POST', url, { consumerKey: x.consumer.key, consumerSecret: 'not-the-secret' }, callback)), /^401 oauth_problem=signature_invalid/);
    const once = authorizationHeader('POST', url, { consumerKey: x.consumer.key, consumerSecret: x.consumer.secret }, callback);
    assert.match(await post(once), /^200 oauth_token=/);
    assert.match(await post(once), /^401 oauth_problem=nonce_used/);
    assert.match(await post(authorizationHeader('POST', url, { consumerKey: x.consumer.key, consumerSecret: x.consumer.secret }, callback, {}, Date.now() - 3_600_000)), /^401 oauth_problem=timestamp_refused/);
  });

  test('config: preset x fills the endpoints and maps id_str; an oauth1 connector without its consumer secret is a config error', () => {
    const base = { issuer: 'http://127.0.0.1:1/auth' };
    const ok = identitySchema.parse({ ...base, federation: [{ id: 'x', type: 'oauth1', preset: 'x', 'client-id': 'k', 'client-secret': 's' }] });
    const c = resolveConnector(ok.federation[0]!);
    assert.equal(c.requestTokenEndpoint, 'https://api.x.com/oauth/request_token');
    assert.equal(c.userinfoEndpoint, 'https://api.x.com/1.1/account/verify_credentials.json?include_email=true&skip_status=true');
    assert.equal(c.claims.subject, 'id_str');
    const bad = (f: unknown) => JSON.stringify(identitySchema.safeParse({ ...base, federation: [f] }).error);
    assert.match(bad({ id: 'x', type: 'oauth1', preset: 'x', 'client-id': 'k' }), /needs client-secret/);
    assert.match(bad({ id: 'x', type: 'oauth2', preset: 'x', 'client-id': 'k' }), /use type: oauth1/);
    assert.match(bad({ id: 't', type: 'oauth1', 'client-id': 'k', 'client-secret': 's' }), /needs authorization-endpoint/);
  });
});
