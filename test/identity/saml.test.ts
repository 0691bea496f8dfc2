import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, decodeJwt, freePort, startTestIdentity, tokenRequest, type TestIdentity } from './helpers.js';
import { openDownstream, pressConnector, RP } from './federation-rig.js';
import { keyPair, sspAvailable, startSimpleSaml, type SimpleSamlIdp } from './saml-rig.js';

const available = sspAvailable();
if (!available) {
  if (process.env.CI === 'true') throw new Error('SimpleSAMLphp is missing (CI=true: this is a failure; run scripts/ci/install-simplesamlphp.sh)');
  console.error('\n!!! SimpleSAMLphp (or php) is missing: SKIPPING the SAML tests (scripts/ci/install-simplesamlphp.sh) !!!\n');
}

const APIS = [{ audience: 'api://orders', scopes: ['orders.read'] }];
const CLIENTS = [{ 'client-id': RP.clientId, public: true, 'grant-types': ['authorization_code'], 'redirect-uris': [RP.redirect], scopes: ['orders.read'] }];
const amp = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=').replace(/&#x2B;/g, '+').replace(/&quot;/g, '"').replace(/&#039;/g, "'");

describe('federation: SAML 2.0 with SimpleSAMLphp as the IdP (on 127.0.0.2: the POST to the ACS is cross-site)', { skip: !available }, () => {
  let idp: SimpleSamlIdp;
  let down: TestIdentity;
  let acs: string;
  let dir: string;
  let encCert: string;
  /** the IdP's metadata as the `meta` connector fetches it (SimpleSAMLphp's, as of the last rollover), or an outage */
  let metaServer: Server;
  let metaState: 'up' | 'down' | 'huge' = 'up';
  let metaBody = '';

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}/auth`;
    const sp = (id: string) => `${issuer}/federation/${id}/metadata`;
    const acsOf = (id: string) => `${issuer}/federation/${id}/callback`;
    acs = acsOf('corp');
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-saml-'));
    const enc = keyPair(dir, 'sp-encryption');
    encCert = readFileSync(enc.cert, 'utf8');
    idp = await startSimpleSaml({
      [sp('corp')]: acs, [sp('other')]: acsOf('other'), [sp('meta')]: acsOf('meta'),
      [sp('enc')]: { acs: acsOf('enc'), encryptTo: encCert }, [sp('encreq')]: acsOf('encreq'),
    }, {
      student: { password: 'studentpass', attributes: { uid: ['student'], mail: ['student@example.com'], eduPersonAffiliation: ['member', 'staff'] } },
    });
    metaServer = createServer((req, res) => {
      if (metaState === 'down') res.writeHead(503).end('down for maintenance');
      else if (metaState === 'huge') res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(metaBody.padEnd(2 * 1024 * 1024, ' '));
      else res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(metaBody);
    });
    metaBody = await (await fetch(idp.metadataUrl)).text();
    await new Promise<void>((r) => metaServer.listen(0, '127.0.0.1', r));
    const metaUrl = `http://127.0.0.1:${(metaServer.address() as { port: number }).port}/idp-metadata.xml`;
    const mapping = { claims: { email: 'mail', 'email-verified': true, groups: 'eduPersonAffiliation' }, 'roles-from-groups': { staff: ['orders-reader'] }, accounts: { create: true } };
    const linking = { accounts: { create: true, link: 'verified-email' } };
    const saml = (id: string, extra: Record<string, unknown> = {}) => ({
      id, type: 'saml', 'display-name': `Corp ${id}`, 'idp-sso-url': idp.ssoUrl, 'idp-entity-id': idp.entityId, 'idp-certificates': [idp.certPem], 'idp-slo-url': `${idp.base}saml2/idp/SingleLogoutService.php`, ...mapping, ...extra,
    });
    // the encryption key and certificate as files relative to the config file
    const encryption = { 'sp-encryption-key': 'sp-encryption.key', 'sp-encryption-certificate': 'sp-encryption.crt', 'want-assertions-encrypted': true };
    down = await startTestIdentity({
      apis: APIS, clients: CLIENTS, federation: [
        saml('corp'), saml('other'), saml('enc', { ...encryption, ...linking }), saml('encreq', { ...encryption, ...linking }),
        { id: 'meta', type: 'saml', 'idp-metadata-url': metaUrl, 'idp-metadata-refresh': 1, 'idp-entity-id': idp.entityId, ...mapping, ...linking },
      ],
    }, { port, dir });
  });

  after(async () => {
    await down?.stop();
    await idp?.stop();
    await new Promise((r) => (metaServer ? metaServer.close(r) : r(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** begin at `connector`, sign in at SimpleSAMLphp; the form it posts back (ACS, SAMLResponse, RelayState) */
  async function atIdp(connector: string, user = 'student', password = 'studentpass') {
    const { b, first } = await openDownstream(down);
    const { res } = await b.follow(first);
    const r = await pressConnector(b, await res.text(), connector);
    assert.equal(r.status, 303);
    const sso = new URL(r.headers.get('location')!);
    assert.equal(sso.origin + sso.pathname, idp.ssoUrl);
    const sb = new Browser(new URL(idp.base).origin);
    const login = await sb.follow(await sb.get(sso.href));
    const loginHtml = await login.res.text();
    const authState = /name="AuthState" value="([^"]+)"/.exec(loginHtml)?.[1];
    assert.ok(authState, `the SimpleSAMLphp login page: ${loginHtml.slice(0, 500)}`);
    const posted = await sb.post(login.url, { username: user, password, AuthState: amp(authState!) });
    const done = await sb.follow(posted);
    const html = await done.res.text();
    const action = /<form method="post"\s+action="([^"]+)"/.exec(html)?.[1];
    const samlResponse = /name="SAMLResponse" value="([^"]+)"/.exec(html)?.[1];
    const relayState = /name="RelayState" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(action && samlResponse, `SimpleSAMLphp's answer form (it answers errors with 200: check the form): ${html.slice(0, 800)}`);
    return { b, sb, action: amp(action!), SAMLResponse: amp(samlResponse!), RelayState: amp(relayState ?? '') };
  }

  /** the IdP's cross-site POST (no SameSite=Lax cookie with it), then the browser follows our 303 with its cookies */
  async function postToAcs(b: Browser, action: string, form: Record<string, string>) {
    const r = await fetch(action, { method: 'POST', redirect: 'manual', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (r.status !== 303) return { status: r.status, html: await r.text() };
    const { res, url } = await b.follow(r);
    return { status: res.status, url, html: res.status === 200 ? await res.text() : '', code: url.startsWith(RP.redirect) ? new URL(url).searchParams.get('code') ?? undefined : undefined };
  }

  test('SP metadata names our entity id and ACS URL', async () => {
    const r = await fetch(`${down.issuer}/federation/corp/metadata`);
    assert.equal(r.status, 200);
    const xml = await r.text();
    assert.match(xml, new RegExp(`entityID="${down.issuer}/federation/corp/metadata"`));
    assert.match(xml, new RegExp(`Location="${acs}"`));
  });

  /** sign in with `connector` all the way; the account's id, or the refusal page */
  async function signIn(connector: string): Promise<{ sub?: string; html?: string; xml: string }> {
    const a = await atIdp(connector);
    const done = await postToAcs(a.b, a.action, { SAMLResponse: a.SAMLResponse, RelayState: a.RelayState });
    const xml = Buffer.from(a.SAMLResponse, 'base64').toString('utf8');
    if (!done.code) return { html: done.html, xml };
    const t = await tokenRequest(down, { grant_type: 'authorization_code', client_id: RP.clientId, code: done.code, redirect_uri: RP.redirect, code_verifier: RP.verifier });
    assert.equal(t.status, 200, t.text);
    return { sub: decodeJwt(t.json.access_token).payload.sub as string, xml };
  }

  test('sign in at SimpleSAMLphp → signed response posted cross-site to the ACS → a Gatehouse token with the mapped claims', async () => {
    const a = await atIdp('corp');
    assert.equal(a.action, acs);
    const done = await postToAcs(a.b, a.action, { SAMLResponse: a.SAMLResponse, RelayState: a.RelayState });
    assert.ok(done.code, JSON.stringify(down.logs.filter((l) => l.component === 'federation' || l.audit)).slice(-1500));
    const t = await tokenRequest(down, { grant_type: 'authorization_code', client_id: RP.clientId, code: done.code!, redirect_uri: RP.redirect, code_verifier: RP.verifier });
    assert.equal(t.status, 200, t.text);
    const claims = decodeJwt(t.json.access_token).payload;
    assert.equal(claims.idp, 'corp');
    assert.deepEqual(claims.roles, ['orders-reader']);
    const u = await down.services.users.get(claims.sub);
    assert.equal(u!.email, 'student@example.com');
    assert.deepEqual(u!.groups, ['member', 'staff']);
    assert.equal((await down.services.db.one<{ subject: string }>("SELECT subject FROM federated_identities WHERE connector = 'corp'"))!.subject, 'student');
  });

  describe('encrypted assertions', () => {
    test('the SP metadata publishes the encryption certificate', async () => {
      const xml = await (await fetch(`${down.issuer}/federation/enc/metadata`)).text();
      const body = encCert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
      assert.match(xml, /<KeyDescriptor use="encryption">/);
      assert.ok(xml.replace(/\s+/g, '').includes(body), 'the certificate in the metadata');
      assert.doesNotMatch(await (await fetch(`${down.issuer}/federation/corp/metadata`)).text(), /use="encryption"/);
    });

    test('SimpleSAMLphp encrypts the assertion to our certificate; the SP decrypts and checks it', async () => {
      const r = await signIn('enc');
      assert.match(r.xml, /EncryptedAssertion/);
      assert.doesNotMatch(r.xml, /<saml:Assertion\b/, 'nothing in the clear');
      assert.ok(r.sub, r.html);
      assert.equal((await down.services.users.get(r.sub!))!.email, 'student@example.com');
    });

    test('with want-assertions-encrypted, an assertion in the clear is refused', async () => {
      const r = await signIn('encreq');
      assert.match(r.xml, /<saml:Assertion\b/);
      assert.equal(r.sub, undefined);
      assert.match(r.html ?? '', /did not succeed/);
      assert.ok(down.logs.some((l) => String(l.message ?? '').includes('want-assertions-encrypted')));
    });
  });

  describe('single logout started at the IdP', () => {
    /** the account's provider sessions signed in through `corp` */
    const sessionsOf = async (sub: string) => Number((await down.services.db.one<{ n: number }>("SELECT COUNT(*) AS n FROM oidc_payloads WHERE type = 'Session' AND payload LIKE $1 AND payload LIKE '%\"idp:corp\"%'", [`%"accountId":"${sub}"%`]))!.n);
    let replay = '';

    test('the SP metadata advertises the SingleLogoutService', async () => {
      assert.match(await (await fetch(`${down.issuer}/federation/corp/metadata`)).text(), new RegExp(`<SingleLogoutService [^>]*Location="${down.issuer}/federation/corp/logout"`));
    });

    test('a signed LogoutRequest from SimpleSAMLphp ends the Gatehouse session; the LogoutResponse completes the IdP\'s logout', async () => {
      const a = await atIdp('corp');
      const done = await postToAcs(a.b, a.action, { SAMLResponse: a.SAMLResponse, RelayState: a.RelayState });
      assert.ok(done.code);
      const t = await tokenRequest(down, { grant_type: 'authorization_code', client_id: RP.clientId, code: done.code!, redirect_uri: RP.redirect, code_verifier: RP.verifier });
      const sub = decodeJwt(t.json.access_token).payload.sub as string;
      assert.ok(await sessionsOf(sub) > 0, 'a session');
      const returnTo = `${RP.redirect}?logged-out`;
      const started = await a.sb.follow(await a.sb.get(`${idp.base}saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(returnTo)}`));
      assert.ok(started.url.startsWith(`${down.issuer}/federation/corp/logout?`), `sent to our SLO: ${started.url} ${started.res.status === 200 ? (await started.res.text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 1500) : ''}`);
      assert.match(started.url, /[?&]Signature=/);
      replay = started.url;
      // the IdP's redirect is cross-site: no Gatehouse cookie comes with it
      const ours = await fetch(started.url, { redirect: 'manual' });
      assert.equal(ours.status, 303, await ours.text());
      assert.equal(await sessionsOf(sub), 0, 'the session ended');
      const back = ours.headers.get('location')!;
      assert.ok(back.startsWith(`${idp.base}saml2/idp/SingleLogoutService.php?SAMLResponse=`), back);
      const end = await a.sb.follow(await a.sb.get(back));
      assert.equal(end.url, returnTo, 'SimpleSAMLphp accepted our LogoutResponse');
    });

    test('signing out of Gatehouse signs out at SimpleSAMLphp too (LogoutRequest, then its LogoutResponse continues the logout)', async () => {
      const a = await atIdp('corp');
      const done = await postToAcs(a.b, a.action, { SAMLResponse: a.SAMLResponse, RelayState: a.RelayState });
      assert.ok(done.code);
      const t = await tokenRequest(down, { grant_type: 'authorization_code', client_id: RP.clientId, code: done.code!, redirect_uri: RP.redirect, code_verifier: RP.verifier });
      const sub = decodeJwt(t.json.access_token).payload.sub as string;
      assert.ok(await sessionsOf(sub) > 0, 'a session');
      const page = await (await a.b.get(`${down.issuer}/session/end`)).text();
      const action = /<form id="op\.logoutForm" method="post" action="([^"]+)"/.exec(page)?.[1];
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
      assert.ok(action && xsrf, page.slice(0, 600));
      const confirmed = await a.b.post(amp(action!), { xsrf: xsrf!, logout: 'yes' });
      assert.equal(confirmed.status, 303);
      assert.equal(await sessionsOf(sub), 0, 'the Gatehouse session ended');
      const toIdp = confirmed.headers.get('location')!;
      assert.ok(toIdp.startsWith(`${idp.base}saml2/idp/SingleLogoutService.php?SAMLRequest=`), toIdp);
      const atIdpSlo = await a.sb.follow(await a.sb.get(toIdp));
      assert.ok(atIdpSlo.url.startsWith(`${down.issuer}/federation/corp/logout?SAMLResponse=`), `SimpleSAMLphp answered: ${atIdpSlo.url} ${atIdpSlo.res.status === 200 ? (await atIdpSlo.res.text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 800) : ''}`);
      const end = await a.b.follow(await a.b.get(atIdpSlo.url));
      assert.match(await end.res.text(), /signed out/i);
      assert.ok(down.logs.some((l) => l.audit === 'federation.logout-done' && l.confirmed === true), 'the LogoutResponse verified');
    });

    test('a replayed, an unsigned or a tampered LogoutRequest is refused', async () => {
      assert.ok(replay);
      assert.equal((await fetch(replay, { redirect: 'manual' })).status, 400, 'replay');
      const u = new URL(replay);
      const unsigned = new URL(u.origin + u.pathname);
      unsigned.searchParams.set('SAMLRequest', u.searchParams.get('SAMLRequest')!);
      assert.equal((await fetch(unsigned, { redirect: 'manual' })).status, 400, 'unsigned');
      const forged = new URL(replay);
      forged.searchParams.set('RelayState', 'changed');
      assert.equal((await fetch(forged, { redirect: 'manual' })).status, 400, 'signature over other parameters');
    });
  });

  describe('attacks on the response', () => {
    const decode = (r: string) => Buffer.from(r, 'base64').toString('utf8');
    const encode = (x: string) => Buffer.from(x, 'utf8').toString('base64');
    /** the signed assertion of a response, and its ID */
    const assertionOf = (xml: string) => {
      const m = /<saml:Assertion[\s\S]*?<\/saml:Assertion>/.exec(xml);
      assert.ok(m, 'an assertion');
      return { text: m[0], id: /ID="([^"]+)"/.exec(m[0])![1]! };
    };

    /** a fresh sign-in at the IdP, its response changed by `mutate`, posted with its own RelayState */
    async function attack(mutate: (xml: string) => string) {
      const a = await atIdp('corp');
      const forged = mutate(decode(a.SAMLResponse));
      assert.notEqual(forged, decode(a.SAMLResponse), 'the attack changed the response');
      const before = await down.services.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM federated_identities');
      const done = await postToAcs(a.b, a.action, { SAMLResponse: encode(forged), RelayState: a.RelayState });
      const after = await down.services.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM federated_identities');
      return { ...done, linkedMore: Number(after!.n) - Number(before!.n) };
    }

    const refused = (done: { code?: string; html?: string }) => {
      assert.equal(done.code, undefined, 'no sign-in');
      assert.match(done.html ?? '', /did not succeed/);
    };

    test('a replayed response is refused: its RelayState is spent, and with a fresh sign-in\'s RelayState its InResponseTo and assertion ID are not', async () => {
      const a = await atIdp('corp');
      const first = await postToAcs(a.b, a.action, { SAMLResponse: a.SAMLResponse, RelayState: a.RelayState });
      assert.ok(first.code);
      const again = await postToAcs(a.b, a.action, { SAMLResponse: a.SAMLResponse, RelayState: a.RelayState });
      assert.equal(again.status, 400);
      const fresh = await atIdp('corp');
      refused(await postToAcs(fresh.b, fresh.action, { SAMLResponse: a.SAMLResponse, RelayState: fresh.RelayState }));
    });

    test('a changed NameID in the signed assertion is refused (signature)', async () => {
      refused(await attack((x) => x.replace(/>student<\/saml:NameID>/, '>admin</saml:NameID>')));
    });

    test('signature wrapping: an unsigned assertion with another ID and NameID before the signed one is refused', async () => {
      refused(await attack((x) => {
        const { text, id } = assertionOf(x);
        const evil = text.replace(`ID="${id}"`, 'ID="_evil"').replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '').replace(/>student<\/saml:NameID>/, '>admin</saml:NameID>');
        return x.replace(text, evil + text);
      }));
    });

    test('signature wrapping: the signed assertion moved into Extensions, an evil one in its place, is refused', async () => {
      refused(await attack((x) => {
        const { text, id } = assertionOf(x);
        const evil = text.replace(`ID="${id}"`, 'ID="_evil"').replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '').replace(/>student<\/saml:NameID>/, '>admin</saml:NameID>');
        return x.replace(text, `<samlp:Extensions>${text}</samlp:Extensions>${evil}`);
      }));
    });

    test('an assertion whose signature was removed is refused (signed assertions are required)', async () => {
      refused(await attack((x) => {
        const { text } = assertionOf(x);
        return x.replace(text, text.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, ''));
      }));
    });

    test('a comment injected in the NameID never yields the truncated name', async () => {
      const done = await attack((x) => x.replace(/>student<\/saml:NameID>/, '>stu<!-- injected -->dent</saml:NameID>'));
      if (done.code) assert.equal((await down.services.db.one<{ n: number }>("SELECT COUNT(*) AS n FROM federated_identities WHERE subject = 'stu'"))!.n, 0);
      else refused(done);
    });

    test('a document type declaration (entity expansion) is refused before any parsing of entities', async () => {
      refused(await attack((x) => x.replace(/^(<\?xml[^>]*\?>)?/, '$1<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]>')));
    });

    test('a response for another service provider (audience, destination, InResponseTo) is refused', async () => {
      const other = await atIdp('other');
      const mine = await atIdp('corp');
      refused(await postToAcs(mine.b, acs, { SAMLResponse: other.SAMLResponse, RelayState: mine.RelayState }));
    });

    test('a SAMLResponse over the size limit is refused without parsing', async () => {
      const a = await atIdp('corp');
      const r = await fetch(a.action, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ SAMLResponse: 'A'.repeat(400 * 1024), RelayState: a.RelayState }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(r.status, 413);
    });
  });

  // last: the rollover changes the IdP's signing key for every connector
  describe('IdP metadata from a URL, refreshed', () => {
    const logged = (msg: string, from: number, pred: (l: Record<string, unknown>) => boolean = () => true) =>
      down.logs.slice(from).some((l) => l.msg === msg && l.connector === 'meta' && pred(l));
    async function waitLog(msg: string, pred?: (l: Record<string, unknown>) => boolean) {
      const from = down.logs.length;
      for (let i = 0; i < 200 && !logged(msg, from, pred); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(logged(msg, from, pred), `log "${msg}"`);
    }

    test('sign-ins use the metadata; an outage or an oversized document at refresh keeps the last good metadata', async () => {
      assert.ok((await signIn('meta')).sub);
      metaState = 'huge';
      await waitLog('SAML IdP metadata refresh failed', (l) => /larger than/.test(String(l.err)) && l.keeping === 'the last good metadata');
      metaState = 'down';
      await waitLog('SAML IdP metadata refresh failed', (l) => /HTTP 503/.test(String(l.err)) && l.keeping === 'the last good metadata');
      const r = await signIn('meta');
      metaState = 'up';
      assert.ok(r.sub, r.html);
    });

    test('certificate rollover: after the refresh new assertions verify, those signed with the old key are refused', async () => {
      const old = await atIdp('meta');
      idp.rollover();
      metaBody = await (await fetch(idp.metadataUrl)).text();
      await waitLog('SAML IdP metadata refreshed', (l) => l.changed === true);
      const refused = await postToAcs(old.b, old.action, { SAMLResponse: old.SAMLResponse, RelayState: old.RelayState });
      assert.equal(refused.code, undefined, 'the old key is no longer trusted');
      assert.match(String(down.logs.filter((l) => l.msg === 'upstream answer refused').at(-1)?.message), /signature/i);
      const r = await signIn('meta');
      assert.ok(r.sub, r.html);
    });
  });
});
