import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, freePort, startTestIdentity, type TestIdentity } from './helpers.js';
import { openDownstream, pressConnector, RP } from './federation-rig.js';
import { assertion, authnRequestOf, newId, response, sign, signatureOf } from './saml-forge.js';
import { keyPair } from './saml-rig.js';

/**
 * The attacks of the issue on the SAML service provider, with documents forged in the test and
 * signed by a key the SP trusts (no IdP process needed): each attack starts from a response the
 * IdP would really send for the attacker's own account (`alice`), and tries to make the SP sign in
 * someone else (`admin`). A control test shows the unmodified forged response is accepted, so a
 * refusal is the SP's defence and not a broken forgery. Two Gatehouse instances share the database
 * for the replay across processes.
 */

const IDP = 'https://idp.test/forge';
const CLIENTS = [{ 'client-id': RP.clientId, public: true, 'grant-types': ['authorization_code'], 'redirect-uris': [RP.redirect], scopes: ['openid'] }];

describe('SAML service provider: forged responses', () => {
  let dir: string;
  let key: string;
  let a: TestIdentity;
  let b: TestIdentity;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-saml-forge-'));
    const kp = keyPair(dir, 'idp');
    key = readFileSync(kp.key, 'utf8');
    const saml = (id: string, wantResponseSigned: boolean) => ({
      id, type: 'saml', 'idp-sso-url': 'http://127.0.0.1:9/sso', 'idp-entity-id': IDP, 'idp-certificates': [readFileSync(kp.cert, 'utf8')],
      'want-response-signed': wantResponseSigned, claims: { email: 'mail' }, accounts: { create: true, link: 'never' },
    });
    // `resp`: response and assertion signed (the default); `asrt`: the assertion's signature only
    const config = { clients: CLIENTS, federation: [saml('resp', true), saml('asrt', false)] };
    const port = await freePort();
    a = await startTestIdentity(config, { port, dir });
    b = await startTestIdentity({ ...config, issuer: a.issuer, listen: { http: await freePort() } }, { dir });
  });

  after(async () => {
    await b?.stop();
    await a?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const sp = (c: string) => ({ entityId: `${a.issuer}/federation/${c}/metadata`, acs: `${a.issuer}/federation/${c}/callback` });

  /** begin a sign-in at `connector` (instance a): the browser, the AuthnRequest's id and the RelayState */
  async function begin(connector: string) {
    const { b: browser, first } = await openDownstream(a);
    const { res } = await browser.follow(first);
    const r = await pressConnector(browser, await res.text(), connector);
    assert.equal(r.status, 303);
    return { browser, ...authnRequestOf(r.headers.get('location')!) };
  }

  /** the response the IdP would send alice for this request (signed as the connector wants) */
  function honest(connector: string, requestId: string, o: { nameId?: string; assertionId?: string } & Partial<Parameters<typeof assertion>[0]> = {}) {
    const s = sp(connector);
    const as = assertion({ issuer: IDP, nameId: 'alice', audience: s.entityId, recipient: s.acs, inResponseTo: requestId, ...o, id: o.assertionId });
    const signedAssertion = sign(as.xml, as.id, key);
    const r = response({ issuer: IDP, destination: s.acs, inResponseTo: requestId, inner: signedAssertion });
    return { xml: connector === 'resp' ? sign(r.xml, r.id, key) : r.xml, assertionXml: signedAssertion, assertionId: as.id, responseId: r.id };
  }

  /** the IdP's cross-site POST to the ACS (of instance `to`), then the browser follows to instance a's pages */
  async function post(browser: Browser, connector: string, xml: string, relayState: string, to: TestIdentity = a) {
    const r = await fetch(`${to.url}/auth/federation/${connector}/callback`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: relayState }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 303, 'the sign-in state was found: the connector judged the response');
    const { res, url } = await browser.follow(await browser.get(new URL(r.headers.get('location')!, a.issuer).href));
    return { code: url.startsWith(RP.redirect) ? new URL(url).searchParams.get('code') ?? undefined : undefined, html: res.status === 200 ? await res.text() : '' };
  }

  const subjects = async () => (await a.services.db.all<{ subject: string }>('SELECT subject FROM federated_identities')).map((r) => r.subject);
  const refused = async (done: { code?: string; html: string }) => {
    assert.equal(done.code, undefined, 'no sign-in');
    assert.match(done.html, /did not succeed/);
    assert.ok(!(await subjects()).includes('admin'), 'admin never signed in');
  };
  const evil = (x: string) => x.replace('>alice</saml:NameID>', '>admin</saml:NameID>').replace('alice@example.com', 'admin@example.com');

  test('control: the unmodified forged responses sign in (both connectors), on either instance', async () => {
    for (const [c, to] of [['resp', a], ['asrt', b]] as const) {
      const s = await begin(c);
      const done = await post(s.browser, c, honest(c, s.requestId).xml, s.relayState, to);
      assert.ok(done.code, `${c}: ${done.html.replace(/<[^>]+>/g, ' ').slice(0, 400)} ${JSON.stringify(a.logs.filter((l) => l.component === 'federation').slice(-2))}`);
    }
  });

  /** XSW 1–8 (Somorovsky et al., "On breaking SAML"): the signed original kept somewhere the signature check finds it, an evil copy where the SP reads */
  const XSW: Record<string, { connector: 'resp' | 'asrt'; wrap(h: ReturnType<typeof honest>): string }> = {
    'XSW1: an evil Response, the signed original inside its Signature\'s Object': {
      connector: 'resp',
      wrap: (h) => {
        const rs = signatureOf(h.xml.replace(h.assertionXml, ''));
        const original = h.xml.replace(rs, '');
        return evil(original.replace(`ID="${h.responseId}"`, 'ID="_evil"')).replace('</saml:Issuer>', `</saml:Issuer>${rs.replace('</Signature>', `<Object>${original}</Object></Signature>`)}`);
      },
    },
    'XSW2: an evil Response, the signed original beside its detached Signature': {
      connector: 'resp',
      wrap: (h) => {
        const rs = signatureOf(h.xml.replace(h.assertionXml, ''));
        const original = h.xml.replace(rs, '');
        return evil(original.replace(`ID="${h.responseId}"`, 'ID="_evil"')).replace('</saml:Issuer>', `</saml:Issuer>${original}${rs}`);
      },
    },
    'XSW3: an evil assertion (other ID) before the signed one': {
      connector: 'asrt',
      wrap: (h) => h.xml.replace(h.assertionXml, evil(h.assertionXml.replace(signatureOf(h.assertionXml), '').replace(`ID="${h.assertionId}"`, 'ID="_evil"')) + h.assertionXml),
    },
    'XSW4: an evil assertion wrapping the signed one': {
      connector: 'asrt',
      wrap: (h) => {
        const e = evil(h.assertionXml.replace(signatureOf(h.assertionXml), '').replace(`ID="${h.assertionId}"`, 'ID="_evil"'));
        return h.xml.replace(h.assertionXml, e.replace(/<\/saml:Assertion>$/, `${h.assertionXml}</saml:Assertion>`));
      },
    },
    'XSW5: the signed assertion altered, an unsigned copy of the original appended': {
      connector: 'asrt',
      wrap: (h) => h.xml.replace(h.assertionXml, evil(h.assertionXml)).replace('</samlp:Response>', `${h.assertionXml.replace(signatureOf(h.assertionXml), '')}</samlp:Response>`),
    },
    'XSW6: an evil assertion carrying the signature, the original inside the signature\'s Object': {
      connector: 'asrt',
      wrap: (h) => {
        const s = signatureOf(h.assertionXml);
        const original = h.assertionXml.replace(s, '');
        return h.xml.replace(h.assertionXml, evil(original.replace(`ID="${h.assertionId}"`, 'ID="_evil"')).replace('</saml:Issuer>', `</saml:Issuer>${s.replace('</Signature>', `<Object>${original}</Object></Signature>`)}`));
      },
    },
    'XSW7: an evil assertion in Extensions, the signed one after it': {
      connector: 'asrt',
      wrap: (h) => h.xml.replace(h.assertionXml, `<samlp:Extensions>${evil(h.assertionXml.replace(signatureOf(h.assertionXml), '').replace(`ID="${h.assertionId}"`, 'ID="_evil"'))}</samlp:Extensions>${h.assertionXml}`),
    },
    'XSW8: an evil assertion with the original ID carrying the signature, the original (unsigned) in its Object': {
      connector: 'asrt',
      wrap: (h) => {
        const s = signatureOf(h.assertionXml);
        const original = h.assertionXml.replace(s, '');
        return h.xml.replace(h.assertionXml, evil(original).replace('</saml:Issuer>', `</saml:Issuer>${s.replace('</Signature>', `<Object>${original}</Object></Signature>`)}`));
      },
    },
  };

  for (const [name, x] of Object.entries(XSW)) {
    test(`signature wrapping is refused — ${name}`, async () => {
      const s = await begin(x.connector);
      const h = honest(x.connector, s.requestId);
      const forged = x.wrap(h);
      assert.match(forged, />admin</, 'the attack names admin');
      await refused(await post(s.browser, x.connector, forged, s.relayState));
    });
  }

  test('an unsigned assertion (another ID) inside a signed response is refused', async () => {
    const s = await begin('resp');
    const as = assertion({ issuer: IDP, nameId: 'admin', audience: sp('resp').entityId, recipient: sp('resp').acs, inResponseTo: s.requestId });
    const r = response({ issuer: IDP, destination: sp('resp').acs, inResponseTo: s.requestId, inner: as.xml });
    await refused(await post(s.browser, 'resp', sign(r.xml, r.id, key), s.relayState));
  });

  test('a comment in the NameID never signs in the name before the comment', async () => {
    const s = await begin('asrt');
    // the IdP signed bob's name admin<!---->.evil (comments are outside the canonical form the signature covers)
    const done = await post(s.browser, 'asrt', honest('asrt', s.requestId, { nameId: 'admin<!---->.evil', mail: 'bob@example.com' }).xml, s.relayState);
    assert.ok(!(await subjects()).includes('admin'), 'never the truncated name');
    if (done.code) assert.ok((await subjects()).includes('admin.evil'), 'the whole name');
  });

  test('a replayed assertion (same assertion ID, a new request) is refused across instances: the IDs are in the database', async () => {
    const id = newId();
    const first = await begin('asrt');
    assert.ok((await post(first.browser, 'asrt', honest('asrt', first.requestId, { assertionId: id }).xml, first.relayState, b)).code, 'accepted at b');
    const again = await begin('asrt');
    await refused(await post(again.browser, 'asrt', honest('asrt', again.requestId, { assertionId: id }).xml, again.relayState, a));
    assert.ok(a.logs.some((l) => String(l.message ?? '').includes('(replay)')), 'refused as a replay');
  });

  const conditions: Record<string, (c: 'asrt', requestId: string) => string> = {
    'another audience': (c, r) => honest(c, r, { audience: 'https://other-sp.example/metadata' }).xml,
    'another recipient': (c, r) => honest(c, r, { recipient: 'https://other-sp.example/acs' }).xml,
    'another destination': (c, r) => honest(c, r).xml.replace(`Destination="${sp(c).acs}"`, 'Destination="https://other-sp.example/acs"'),
    'expired (NotOnOrAfter 5 minutes ago)': (c, r) => honest(c, r, { notBefore: -600, notOnOrAfter: -300 }).xml,
    'not yet valid (NotBefore in 5 minutes)': (c, r) => honest(c, r, { notBefore: 300, notOnOrAfter: 600 }).xml,
    'for another SP (its audience, recipient and destination)': (c, r) => {
      const other = sp('resp');
      return honest(c, r, { audience: other.entityId, recipient: other.acs }).xml.replace(`Destination="${sp(c).acs}"`, `Destination="${other.acs}"`);
    },
    'answering another request (InResponseTo)': (c) => honest(c, newId()).xml,
  };
  for (const [name, make] of Object.entries(conditions)) {
    test(`an assertion ${name} is refused`, async () => {
      const s = await begin('asrt');
      await refused(await post(s.browser, 'asrt', make('asrt', s.requestId), s.relayState));
    });
  }

  test('an IdP-initiated LogoutRequest by HTTP-POST: unsigned or for another SP refused; signed, it ends the sessions through that connector', async () => {
    const alice = (await a.services.db.one<{ user_id: string }>("SELECT user_id FROM federated_identities WHERE connector = 'asrt' AND subject = 'alice'"))!.user_id;
    const sessions = async () => Number((await a.services.db.one<{ n: number }>("SELECT COUNT(*) AS n FROM oidc_payloads WHERE type = 'Session' AND payload LIKE $1 AND payload LIKE '%\"idp:asrt\"%'", [`%"accountId":"${alice}"%`]))!.n);
    const before = await sessions();
    assert.ok(before > 0, 'alice has sessions through asrt');
    const logoutRequest = (destination: string) => {
      const id = newId();
      const xml = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${destination}">`
        + `<saml:Issuer>${IDP}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">alice</saml:NameID><samlp:SessionIndex>${newId()}</samlp:SessionIndex></samlp:LogoutRequest>`;
      return { xml, id };
    };
    const send = (xml: string) => fetch(`${a.url}/auth/federation/asrt/logout`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ SAMLRequest: Buffer.from(xml).toString('base64') }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const slo = `${a.issuer}/federation/asrt/logout`;
    assert.equal((await send(logoutRequest(slo).xml)).status, 400, 'unsigned');
    const other = logoutRequest(`${a.issuer}/federation/resp/logout`);
    assert.equal((await send(sign(other.xml, other.id, key))).status, 400, 'for another SP');
    assert.equal(await sessions(), before);
    const ok = logoutRequest(slo);
    const signed = sign(ok.xml, ok.id, key);
    const r = await send(signed);
    assert.equal(r.status, 200, await r.text());
    assert.equal(await sessions(), 0, 'alice\'s sessions through asrt ended');
    assert.equal((await send(signed)).status, 400, 'a replay');
  });

  test('config: what a SAML connector needs, and what contradicts', async () => {
    const { identitySchema } = await import('../../src/identity/schema.js');
    const issues = (f: Record<string, unknown>) => {
      const r = identitySchema.safeParse({ issuer: 'https://id.example.com/auth', federation: [{ id: 'corp', type: 'saml', ...f }] });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    const cert = 'MIIB'.padEnd(120, 'A');
    assert.deepEqual(issues({ 'idp-metadata-url': 'https://idp.example.com/metadata' }), []);
    assert.match(issues({}).join('\n'), /idp-sso-url.*or set idp-metadata-url/);
    assert.match(issues({ 'idp-metadata-url': 'https://idp.example.com/metadata', 'idp-certificates': [cert] }).join('\n'), /idp-certificates comes from idp-metadata-url/);
    assert.match(issues({ 'idp-metadata-url': 'http://idp.example.com/metadata' }).join('\n'), /https/);
    assert.match(issues({ 'idp-metadata-url': 'https://idp.example.com/m', 'sp-encryption-key': 'k.pem' }).join('\n'), /sp-encryption-certificate/);
    assert.match(issues({ 'idp-metadata-url': 'https://idp.example.com/m', 'want-assertions-encrypted': true }).join('\n'), /want-assertions-encrypted needs a decryption key/);
  });
});
