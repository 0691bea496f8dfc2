/**
 * validate-client-certificate over real TLS: every outcome (missing, expired, not yet valid,
 * untrusted, revoked, identity mismatch, pass), the checks that Node's single authorizationError
 * cannot tell apart, forged issuers, `require` listeners refusing the handshake, HTTP/2, the
 * forwarded X-Forwarded-Client-Cert and the stripping of forged copies, CRL reload.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { createPki, httpsGet, h2Connect, h2Request, type Issued, type Pki } from '../helpers/certs.js';

let pki: Pki;
let gw: RunningGateway;
let backend: TestBackend;
let base: string;
let requireBase: string;
let httpBase: string;
let reloadCrl: string;
/** an expired certificate of the untrusted CA */
let otherExpired: Issued;
/** a self-made CA with the same name as the real intermediate, and a client it issued */
let forgedClient: Issued;

const DAY = 86400_000;

before(async () => {
  pki = createPki();
  otherExpired = pki.issue({ name: 'other-expired', subject: '/O=Somebody Else/CN=other-expired', issuer: pki.otherCa, usage: 'client',
    notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
  const fakeIntermediate = pki.issue({ name: 'fake-intermediate', subject: '/O=Gatehouse Test/CN=Test Intermediate CA', ca: true });
  forgedClient = pki.issue({ name: 'forged', subject: '/O=Gatehouse Test/OU=Clients/CN=client-valid', issuer: fakeIntermediate, usage: 'client', dns: ['client-valid.clients.test'] });
  reloadCrl = join(pki.dir, 'reload.crl.pem');
  copyFileSync(pki.crl, reloadCrl);
  backend = await startBackend();
  const listener = (name: string, mode: string, extra = '') => `
      - name: ${name}
        port: 0
        host: 127.0.0.1
        certificates: [{ cert: "${pki.serverA.chain}", key: "${pki.serverA.key}" }]
        client-certificate: ${mode}
        client-ca: ["${pki.rootFile}"]${extra}`;
  const api = (name: string, policy: string) => `
  - name: ${name}
    path: /${name}
    backend: echo
    policies:
      inbound:
        - validate-client-certificate: ${policy}`;
  gw = await startGateway(`
gateway:
  listen:
    http: { port: 0, host: 127.0.0.1 }
    https:${listener('https', 'request')}${listener('required', 'require', `\n        crl: ["${pki.crl}"]`)}
  admin: { listen: 0 }
backends: { echo: { url: "${backend.url}" } }
apis:${api('strict', `{ crl: ["${pki.crl}"], forward-client-certificate: true }`)}${api('pem', `{ crl: ["${pki.crl}"], forward-client-certificate: true, forward-include-pem: true, forward-headers: { thumbprint: X-Client-Thumbprint, subject: X-Client-Subject, serial-number: X-Client-Serial, dns-names: X-Client-Dns } }`)}${api('by-san', `{ crl: ["${pki.crl}"], identities: [{ dns-name: client-valid.clients.test, issuer-subject: "CN=Test Intermediate CA, O=Gatehouse Test" }] }`)}${api('by-sha1', `{ crl: ["${pki.crl}"], identities: [{ thumbprint: "${pki.clientValid.x509.fingerprint}" }] }`)}${api('by-sha256', `{ crl: ["${pki.crl}"], identities: [{ thumbprint: "${pki.clientValid.sha256.toLowerCase()}" }] }`)}${api('by-subject', `{ identities: [{ subject: "cn=client-valid, ou=Clients, o=gatehouse test", serial-number: "${pki.clientValid.serial.toLowerCase()}" }, { common-name: client-wrong-san }] }`)}${api('by-issuer', `{ validate-trust: false, identities: [{ issuer-thumbprint: "${pki.intermediate.sha256}" }] }`)}${api('no-dates', `{ validate-not-after: false, validate-not-before: false }`)}${api('lenient', `{ ignore-error: true, forward-client-certificate: true }`)}${api('listener-crl', `{}`)}${api('reload', `{ crl: ["${reloadCrl}"] }`)}
  - name: open
    path: /open
    backend: echo
`, { waitFor: ['https', 'required', 'http', 'admin'] });
  base = `https://127.0.0.1:${gw.ports.https}`;
  requireBase = `https://127.0.0.1:${gw.ports.required}`;
  httpBase = `http://127.0.0.1:${gw.ports.http}`;
});

after(async () => {
  await gw?.stop();
  await backend?.close();
});

const tlsOpts = (c?: Issued) => ({ ca: pki.root.pem, ...(c ? { cert: c.chainPem, key: c.keyPem } : {}) });

async function call(path: string, c?: Issued, headers: Record<string, string> = {}, url = base) {
  const before = backend.requests.length;
  const r = await httpsGet(`${url}${path}`, { ...tlsOpts(c), headers });
  const reached = backend.requests.slice(before);
  return { ...r, reached, json: r.headers['content-type']?.toString().includes('json') ? JSON.parse(r.body) : undefined };
}

function assertRefused(r: Awaited<ReturnType<typeof call>>, code: string) {
  assert.equal(r.status, 403, r.body);
  assert.match(String(r.headers['content-type']), /application\/problem\+json/);
  assert.equal(r.json.code, code);
  assert.equal(r.json.type, `urn:gatehouse:problem:${code}`);
  assert.equal(r.reached.length, 0, 'the backend must not be reached');
  assert.doesNotMatch(r.body, /BEGIN|stack|at \w+ \(/);
}

test('a valid client certificate chained to the client-ca passes and its details reach the backend', async () => {
  const r = await call('/strict/x', pki.clientValid);
  assert.equal(r.status, 200, r.body);
  const xfcc = r.reached[0]!.headers['x-forwarded-client-cert'] as string;
  assert.ok(xfcc.startsWith(`Hash=${pki.clientValid.sha256.toLowerCase()};`), xfcc);
  assert.match(xfcc, /;Subject="CN=client-valid,OU=Clients,O=Gatehouse Test"/);
  assert.match(xfcc, /;URI=spiffe:\/\/test\/client-valid/);
  assert.match(xfcc, /;DNS=client-valid\.clients\.test/);
  assert.doesNotMatch(xfcc, /Cert=/, 'the PEM is only sent when forward-include-pem is on');
});

test('refuses a request without a client certificate with client-certificate-missing', async () => {
  assertRefused(await call('/strict/x'), 'client-certificate-missing');
});

test('refuses an expired client certificate with client-certificate-expired', async () => {
  assertRefused(await call('/strict/x', pki.clientExpired), 'client-certificate-expired');
});

test('refuses a client certificate that is not valid yet with client-certificate-not-yet-valid', async () => {
  assertRefused(await call('/strict/x', pki.clientNotYetValid), 'client-certificate-not-yet-valid');
});

test('refuses a client certificate of another CA with client-certificate-untrusted', async () => {
  assertRefused(await call('/strict/x', pki.clientOtherCa), 'client-certificate-untrusted');
});

test('refuses a revoked client certificate listed in the CRL with client-certificate-revoked', async () => {
  assertRefused(await call('/strict/x', pki.clientRevoked), 'client-certificate-revoked');
  assert.equal((await call('/strict/x', pki.clientValid)).status, 200, 'a certificate not in the CRL passes');
});

test('refuses a certificate of a CA that copies the real intermediate name (forged issuer)', async () => {
  assertRefused(await call('/strict/x', forgedClient), 'client-certificate-untrusted');
});

test('refuses a certificate of the trusted CA that is for servers only (no clientAuth usage) as untrusted', async () => {
  const serverOnly = pki.issue({ name: 'server-only-client', subject: '/CN=server-only', issuer: pki.intermediate, usage: 'server' });
  assertRefused(await call('/strict/x', serverOnly), 'client-certificate-untrusted');
  assertRefused(await call('/no-dates/x', serverOnly), 'client-certificate-untrusted');
});

test('with date checks off, an expired certificate of an untrusted CA is still untrusted (OpenSSL reports only the date error)', async () => {
  assertRefused(await call('/no-dates/x', otherExpired), 'client-certificate-untrusted');
  assertRefused(await call('/no-dates/x', pki.clientOtherCa), 'client-certificate-untrusted');
});

test('with date checks off, an expired certificate of the trusted CA passes (the chain is verified against the listener client-ca)', async () => {
  const r = await call('/no-dates/x', pki.clientExpired);
  assert.equal(r.status, 200, r.body);
  assert.equal((await call('/no-dates/x', pki.clientNotYetValid)).status, 200);
});

test('identities: the DNS name and issuer subject must both match', async () => {
  assert.equal((await call('/by-san/x', pki.clientValid)).status, 200);
  assertRefused(await call('/by-san/x', pki.clientWrongSan), 'client-certificate-identity-mismatch');
});

test('identities: a SHA-1 thumbprint (40 hex, with colons) and a SHA-256 thumbprint (64 hex, lower-case) both match', async () => {
  assert.equal((await call('/by-sha1/x', pki.clientValid)).status, 200);
  assert.equal((await call('/by-sha256/x', pki.clientValid)).status, 200);
  assertRefused(await call('/by-sha1/x', pki.clientWrongSan), 'client-certificate-identity-mismatch');
  assertRefused(await call('/by-sha256/x', pki.clientWrongSan), 'client-certificate-identity-mismatch');
});

test('identities: subject (order and case ignored) with serial number, or another identity by common name', async () => {
  assert.equal((await call('/by-subject/x', pki.clientValid)).status, 200);
  assert.equal((await call('/by-subject/x', pki.clientWrongSan)).status, 200, 'the second identity matches');
  assertRefused(await call('/by-subject/x', pki.clientRevoked), 'client-certificate-identity-mismatch');
});

test('identities: issuer-thumbprint needs the real issuer signature, not a chain that only names it', async () => {
  assert.equal((await call('/by-issuer/x', pki.clientValid)).status, 200);
  assertRefused(await call('/by-issuer/x', forgedClient), 'client-certificate-identity-mismatch');
  assertRefused(await call('/by-issuer/x', pki.clientOtherCa), 'client-certificate-identity-mismatch');
});

test('a forged X-Forwarded-Client-Cert (and configured headers) from the client never reach the backend', async () => {
  const forged = { 'x-forwarded-client-cert': 'Hash=00;Subject="CN=admin"', 'x-client-thumbprint': 'forged', 'x-client-subject': 'CN=admin' };
  const r = await call('/pem/x', pki.clientValid, forged);
  assert.equal(r.status, 200);
  const h = r.reached[0]!.headers;
  assert.ok(String(h['x-forwarded-client-cert']).startsWith(`Hash=${pki.clientValid.sha256.toLowerCase()};Cert="`));
  assert.equal(h['x-client-thumbprint'], pki.clientValid.sha256.toLowerCase());
  assert.equal(h['x-client-subject'], 'CN=client-valid,OU=Clients,O=Gatehouse Test');
  assert.equal(h['x-client-serial'], pki.clientValid.serial.replace(/^0+/, ''));
  assert.equal(h['x-client-dns'], 'client-valid.clients.test');
  const cert = /Cert="([^"]+)"/.exec(String(h['x-forwarded-client-cert']))![1]!;
  assert.equal(decodeURIComponent(cert), pki.clientValid.pem);
  // ignore-error without a certificate: continues, forwards nothing, forged copy removed
  const r2 = await call('/lenient/x', undefined, forged);
  assert.equal(r2.status, 200);
  assert.equal(r2.reached[0]!.headers['x-forwarded-client-cert'], undefined);
  // ignore-error with a failing certificate: continues, forwards nothing
  const r3 = await call('/lenient/x', pki.clientOtherCa, forged);
  assert.equal(r3.status, 200);
  assert.equal(r3.reached[0]!.headers['x-forwarded-client-cert'], undefined);
});

test('refuses over plain HTTP: there is no client certificate there', async () => {
  const before = backend.requests.length;
  const res = await fetch(`${httpBase}/strict/x`, { headers: { 'x-forwarded-client-cert': `Hash=${pki.clientValid.sha256}` } });
  assert.equal(res.status, 403);
  assert.equal((await res.json() as { code: string }).code, 'client-certificate-missing');
  assert.equal(backend.requests.length, before);
});

test('a `require` listener refuses the handshake without a certificate or with an untrusted one', async () => {
  const handshake = (c?: Issued) => new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: gw.ports.required!, ...tlsOpts(c), ALPNProtocols: ['http/1.1'] }, () => {
      // TLS 1.3: the server's refusal arrives after the client considers the handshake done
      s.write('GET /strict/x HTTP/1.1\r\nhost: a.test\r\n\r\n');
    });
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('error', (e) => resolve(`error:${(e as NodeJS.ErrnoException).code ?? e.message}`));
    s.on('close', () => resolve(data ? `data:${data.split('\r\n')[0]}` : 'closed'));
  });
  const none = await handshake();
  assert.doesNotMatch(none, /^data:HTTP\/1.1 200/, none);
  assert.match(none, /^error:|^closed$/);
  const other = await handshake(pki.clientOtherCa);
  assert.match(other, /^error:|^closed$/, other);
  const ok = await call('/strict/x', pki.clientValid, {}, requireBase);
  assert.equal(ok.status, 200);
});

test('the listener crl is used by a policy that names no crl of its own', async () => {
  assertRefused(await call('/listener-crl/x', pki.clientRevoked, {}, requireBase), 'client-certificate-revoked');
  assert.equal((await call('/listener-crl/x', pki.clientValid, {}, requireBase)).status, 200);
});

test('HTTP/2: the certificate of the connection is validated for every stream', async () => {
  const good = await h2Connect(base, tlsOpts(pki.clientValid));
  const bad = await h2Connect(base, tlsOpts(pki.clientExpired));
  const none = await h2Connect(base, tlsOpts());
  try {
    const [a, b] = await Promise.all([h2Request(good, '/strict/1'), h2Request(good, '/by-san/2')]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const c = await h2Request(bad, '/strict/1');
    assert.equal(c.status, 403);
    assert.equal(JSON.parse(c.body).code, 'client-certificate-expired');
    const d = await h2Request(none, '/strict/1', { 'x-forwarded-client-cert': 'Hash=00' });
    assert.equal(d.status, 403);
    assert.equal(JSON.parse(d.body).code, 'client-certificate-missing');
  } finally {
    good.close(); bad.close(); none.close();
  }
});

test('a CRL file rewritten on disk is reloaded: the newly revoked certificate is refused, even on an open connection', async () => {
  const session = await h2Connect(base, tlsOpts(pki.clientWrongSan));
  try {
    assert.equal((await h2Request(session, '/reload/1')).status, 200);
    const tmp = join(pki.dir, 'next.crl.pem');
    pki.writeCrl(pki.intermediate, [pki.clientRevoked, pki.clientWrongSan], tmp);
    const reloaded = gw.waitForLog((l) => l.msg === 'CRL reloaded' && l.file === reloadCrl);
    writeFileSync(reloadCrl, readFileSync(tmp));
    await reloaded;
    const r = await h2Request(session, '/reload/2');
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).code, 'client-certificate-revoked');
    // a broken CRL is refused and the previous one stays
    const refused = gw.waitForLog((l) => l.msg === 'CRL reload refused; the previous one stays' && l.file === reloadCrl);
    writeFileSync(reloadCrl, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
    await refused;
    assert.equal((await h2Request(session, '/reload/3')).status, 403);
    assert.equal((await call('/reload/x', pki.clientValid)).status, 200);
  } finally {
    session.close();
  }
  assert.equal(pki.clientRevoked.serial.length > 0, true);
});

test('a CRL replaced atomically (rename into place) is reloaded every time', async () => {
  const isReload = (l: Record<string, unknown>) => l.msg === 'CRL reloaded' && l.file === reloadCrl;
  for (const revoked of [[pki.clientValid], [], [pki.clientValid]]) {
    const tmp = join(pki.dir, 'atomic.crl.pem');
    pki.writeCrl(pki.intermediate, revoked, tmp);
    const already = gw.logs.filter(isReload).length;
    const reloaded = gw.waitForLog((l) => isReload(l) && gw.logs.filter(isReload).length > already);
    renameSync(tmp, reloadCrl);
    await reloaded;
    const r = await call('/reload/x', pki.clientValid);
    assert.equal(r.status, revoked.length ? 403 : 200, r.body);
  }
});

test('the open API (no policy) is unaffected by the listener asking for certificates', async () => {
  assert.equal((await call('/open/x')).status, 200);
});

test('config errors name the file, line and attribute: a bad thumbprint, a missing CRL file', async () => {
  const { runCli, writeConfig } = await import('../helpers/gateway.js');
  const file = writeConfig(`
gateway: { listen: { http: 0 } }
backends: { echo: { url: "http://127.0.0.1:1" } }
apis:
  - name: a
    path: /a
    backend: echo
    policies:
      inbound:
        - validate-client-certificate:
            identities:
              - { thumbprint: "12:34" }
  - name: b
    path: /b
    backend: echo
    policies:
      inbound:
        - validate-client-certificate: { crl: [does-not-exist.crl.pem] }
  - name: c
    path: /c
    backend: echo
    policies:
      inbound:
        - validate-client-certificate: { identities: [{}] }
`);
  const r = await runCli(['validate', '--config', file]);
  assert.notEqual(r.code, 0);
  const out = r.stdout + r.stderr;
  assert.match(out, /gatehouse\.yaml:\d+:\d+: .*identities\[0\]\.thumbprint: .*SHA-1 \(40 hex digits\) or SHA-256 \(64 hex digits\)/);
  assert.match(out, /gatehouse\.yaml:\d+:\d+: .*crl\[0\]: cannot use CRL .*file not found/);
  assert.match(out, /identities\[0\]: an identity needs at least one attribute/);
  const typo = await runCli(['validate', '--config', writeConfig(`
gateway: { listen: { http: 0 } }
backends: { echo: { url: "http://127.0.0.1:1" } }
apis:
  - name: a
    path: /a
    backend: echo
    policies:
      inbound:
        - validate-client-certificate: { validate-trust: maybe, identities: [{ thumbprnt: AB }] }
`)]);
  assert.notEqual(typo.code, 0);
  assert.match(typo.stdout + typo.stderr, /validate-trust/);
  assert.match(typo.stdout + typo.stderr, /thumbprnt/, 'an unknown attribute is an error, never ignored');
});

test('the mTLS guide in docs/tls.md works as written: its openssl commands issue a certificate the gateway accepts', async () => {
  const { readFileSync: read, mkdtempSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  const { ROOT } = await import('../helpers/gateway.js');
  const doc = read(join(ROOT, 'docs', 'tls.md'), 'utf8');
  const guide = doc.slice(doc.indexOf('### Guide'));
  const blocks = [...guide.matchAll(/```(sh|yaml)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2]! }));
  const commands = blocks[0]!.text;
  assert.match(commands, /openssl req -x509/);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-guide-'));
  execFileSync('bash', ['-euo', 'pipefail', '-c', commands], { cwd: dir, stdio: 'ignore' });
  // the guide's YAML, with its file names pointing at what the commands made and at a server certificate
  const yaml = blocks[1]!.text
    .replace('port: 8443', 'port: 0\n      host: 127.0.0.1')
    .replace('certs/api.pem', pki.serverA.chain).replace('certs/api.key', pki.serverA.key)
    .replace('certs/clients-ca.pem', join(dir, 'clients-ca.pem'));
  const guideBackend = await startBackend();
  const g = await startGateway(`${yaml}\nbackends: { erp: { url: "${guideBackend.url}" } }\n`, { waitFor: ['https'] });
  try {
    const url = `https://127.0.0.1:${g.ports.https}/erp/orders`;
    const ok = await httpsGet(url, { ca: pki.root.pem, cert: read(join(dir, 'erp.pem')), key: read(join(dir, 'erp.key')) });
    assert.equal(ok.status, 200, ok.body);
    assert.match(String(guideBackend.requests[0]!.headers['x-forwarded-client-cert']), /Subject="CN=erp,O=Partner"/);
    const none = await httpsGet(url, { ca: pki.root.pem });
    assert.equal(none.status, 403);
    assert.equal(JSON.parse(none.body).code, 'client-certificate-missing');
    const other = await httpsGet(url, { ca: pki.root.pem, cert: pki.clientValid.chainPem, key: pki.clientValid.keyPem });
    assert.equal(other.status, 403);
  } finally {
    await g.stop();
    await guideBackend.close();
  }
});
