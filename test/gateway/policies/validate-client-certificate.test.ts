/**
 * validate-client-certificate called directly, with the facts a TLS socket gives after the
 * handshake and the listener's client trust material loaded as the HTTPS listener loads it: every
 * refusal, the checks OpenSSL's single error cannot tell apart, fail-closed revocation, forwarding
 * and the stripping of forged headers. test/e2e/mtls.test.ts drives the same over real TLS.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { validateClientCertificate } from '../../../src/gateway/policies/validate-client-certificate.js';
import { loadClientTrust, type ClientTrust } from '../../../src/gateway/mtls/trust.js';
import { ConfigError } from '../../../src/config/errors.js';
import { createPki, type Issued, type Pki } from '../../helpers/certs.js';
import { tlsExchange, type TlsRequest } from '../mtls/tls-exchange.js';
import { build, run, testContext } from '../jwt/context.js';

const DAY = 86400_000;
const silent = pino({ level: 'silent' });
let pki: Pki;
let trust: ClientTrust;
let otherExpired: Issued;
const closers: Array<() => void> = [];

before(() => {
  pki = createPki();
  otherExpired = pki.issue({ name: 'other-expired', subject: '/CN=other-expired', issuer: pki.otherCa, usage: 'client', notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
  trust = loadClientTrust({ clientCa: [pki.rootFile], crl: [pki.crl] }, silent);
  closers.push(() => trust.close());
});

after(() => { for (const c of closers) c(); });

/** a client of the trusted intermediate, as OpenSSL judges it (the chain the client sent: the intermediate) */
const trusted = (cert: Issued, extra: TlsRequest = {}): TlsRequest => ({ cert, chain: [pki.intermediate], authorized: true, trust, ...extra });
const codeOf = (r: { problem?: { code?: string } } | undefined) => r?.problem?.code;

test('a certificate OpenSSL verified passes; its details are forwarded and forged copies never reach the backend', async () => {
  const h = await build(validateClientCertificate, { 'forward-client-certificate': true, 'forward-headers': { thumbprint: 'X-Client-Thumbprint', 'dns-names': 'X-Client-Dns', subject: 'X-Client-Subject' } });
  const ex = tlsExchange(trusted(pki.clientValid, { headers: [['X-Forwarded-Client-Cert', 'Hash=forged'], ['X-Client-Thumbprint', 'forged'], ['X-Client-Dns', 'forged.test']] }));
  assert.equal(await run(h, ex), undefined);
  const up = ex.upstreamHeaders;
  assert.equal(up['x-forwarded-client-cert'], `Hash=${pki.clientValid.sha256.toLowerCase()};Subject="CN=client-valid,OU=Clients,O=Gatehouse Test";URI=spiffe://test/client-valid;DNS=client-valid.clients.test`);
  assert.equal(up['x-client-thumbprint'], pki.clientValid.sha256.toLowerCase());
  assert.equal(up['x-client-dns'], 'client-valid.clients.test');
  assert.equal(up['x-client-subject'], 'CN=client-valid,OU=Clients,O=Gatehouse Test');
});

test('refuses a request without a certificate, on HTTPS and on plain HTTP, and still removes forged details', async () => {
  const h = await build(validateClientCertificate, {});
  for (const ex of [tlsExchange({ trust, headers: [['X-Forwarded-Client-Cert', 'Hash=forged']] }), tlsExchange({ protocol: 'http', headers: [['X-Forwarded-Client-Cert', 'Hash=forged']] })]) {
    const r = await run(h, ex);
    assert.equal(r?.status, 403);
    assert.equal(codeOf(r), 'client-certificate-missing');
    assert.equal(ex.upstreamHeaders['x-forwarded-client-cert'], undefined);
  }
});

test('validity dates are checked first: expired, not yet valid', async () => {
  const h = await build(validateClientCertificate, {});
  assert.equal(codeOf(await run(h, tlsExchange(trusted(pki.clientExpired, { authorized: false, error: 'CERT_HAS_EXPIRED' })))), 'client-certificate-expired');
  assert.equal(codeOf(await run(h, tlsExchange(trusted(pki.clientNotYetValid, { authorized: false, error: 'CERT_NOT_YET_VALID' })))), 'client-certificate-not-yet-valid');
});

test('with date checks off, a date error is forgiven only when the chain verifies against the listener client-ca', async () => {
  const h = await build(validateClientCertificate, { 'validate-not-after': false, 'validate-not-before': false });
  assert.equal(await run(h, tlsExchange(trusted(pki.clientExpired, { authorized: false, error: 'CERT_HAS_EXPIRED' }))), undefined);
  // OpenSSL reports only the date error of a certificate of a CA nobody trusts
  const other = await run(h, tlsExchange({ cert: otherExpired, chain: [pki.otherCa], error: 'CERT_HAS_EXPIRED', trust }));
  assert.equal(codeOf(other), 'client-certificate-untrusted');
  // without the listener's client-ca there is nothing to verify against
  const noTrust = await run(h, tlsExchange({ ...trusted(pki.clientExpired, { authorized: false, error: 'CERT_HAS_EXPIRED' }), trust: undefined }));
  assert.equal(codeOf(noTrust), 'client-certificate-untrusted');
});

test('any other verification error is untrusted, unless validate-trust is off', async () => {
  const other = { cert: pki.clientOtherCa, chain: [pki.otherCa], error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', trust };
  assert.equal(codeOf(await run(await build(validateClientCertificate, {}), tlsExchange(other))), 'client-certificate-untrusted');
  assert.equal(await run(await build(validateClientCertificate, { 'validate-trust': false }), tlsExchange(other)), undefined);
});

test('revocation: the listener CRL and the policy crl both count; validate-revocation false skips them', async () => {
  assert.equal(codeOf(await run(await build(validateClientCertificate, {}), tlsExchange(trusted(pki.clientRevoked)))), 'client-certificate-revoked');
  const ownOnly = await build(validateClientCertificate, { crl: [pki.crl] });
  const withoutListenerCrl = loadClientTrust({ clientCa: [pki.rootFile], crl: [] }, silent);
  closers.push(() => withoutListenerCrl.close());
  assert.equal(codeOf(await run(ownOnly, tlsExchange(trusted(pki.clientRevoked, { trust: withoutListenerCrl })))), 'client-certificate-revoked');
  assert.equal(await run(ownOnly, tlsExchange(trusted(pki.clientValid, { trust: withoutListenerCrl }))), undefined);
  assert.equal(await run(await build(validateClientCertificate, { 'validate-revocation': false }), tlsExchange(trusted(pki.clientRevoked))), undefined);
});

test('a listener CRL that could not be loaded when the listener started refuses every certificate as revoked (fail closed)', async () => {
  const broken = loadClientTrust({ clientCa: [pki.rootFile], crl: [join(pki.dir, 'no-such.crl.pem')] }, silent);
  closers.push(() => broken.close());
  assert.equal(broken.crls[0]!.value, undefined);
  const r = await run(await build(validateClientCertificate, {}), tlsExchange(trusted(pki.clientValid, { trust: broken })));
  assert.equal(codeOf(r), 'client-certificate-revoked');
});

test('the listener trust is what was loaded at start: removed or broken files change nothing per request', async () => {
  const ca = join(pki.dir, 'trust-ca.pem');
  const crl = join(pki.dir, 'trust.crl.pem');
  copyFileSync(pki.rootFile, ca);
  copyFileSync(pki.crl, crl);
  const loaded = loadClientTrust({ clientCa: [ca], crl: [crl] }, silent);
  closers.push(() => loaded.close());
  rmSync(ca);
  rmSync(crl);
  assert.equal(loaded.crls[0]!.reload(), false, 'a file that cannot be read is refused');
  const strict = await build(validateClientCertificate, {});
  assert.equal(await run(strict, tlsExchange(trusted(pki.clientValid, { trust: loaded }))), undefined, 'the CRL in memory still lists only the revoked one');
  assert.equal(codeOf(await run(strict, tlsExchange(trusted(pki.clientRevoked, { trust: loaded })))), 'client-certificate-revoked');
  const noDates = await build(validateClientCertificate, { 'validate-not-after': false });
  assert.equal(await run(noDates, tlsExchange(trusted(pki.clientExpired, { authorized: false, error: 'CERT_HAS_EXPIRED', trust: loaded }))), undefined, 'the client-ca in memory still anchors the chain');
});

test('a listener CRL rewritten with a new list is used after its reload', async () => {
  const crl = join(pki.dir, 'reloaded.crl.pem');
  copyFileSync(pki.crl, crl);
  const live = loadClientTrust({ clientCa: [pki.rootFile], crl: [crl] }, silent);
  closers.push(() => live.close());
  const h = await build(validateClientCertificate, {});
  assert.equal(await run(h, tlsExchange(trusted(pki.clientValid, { trust: live }))), undefined);
  pki.writeCrl(pki.intermediate, [pki.clientRevoked, pki.clientValid], crl);
  assert.equal(live.crls[0]!.reload(), true);
  assert.equal(codeOf(await run(h, tlsExchange(trusted(pki.clientValid, { trust: live })))), 'client-certificate-revoked');
});

test('identities: a certificate that matches none of them is refused with identity-mismatch', async () => {
  const h = await build(validateClientCertificate, { identities: [{ 'dns-name': 'CLIENT-VALID.clients.test', 'issuer-subject': 'CN=Test Intermediate CA, O=Gatehouse Test' }, { thumbprint: pki.clientWrongSan.x509.fingerprint }] });
  assert.equal(await run(h, tlsExchange(trusted(pki.clientValid))), undefined);
  assert.equal(await run(h, tlsExchange(trusted(pki.clientWrongSan))), undefined, 'the second identity, by SHA-1 thumbprint');
  assert.equal(codeOf(await run(h, tlsExchange(trusted(pki.clientExpired, { authorized: true })))), 'client-certificate-expired', 'dates before identities');
  const other = await build(validateClientCertificate, { identities: [{ 'common-name': 'someone-else' }] });
  const r = await run(other, tlsExchange(trusted(pki.clientValid)));
  assert.equal(r?.status, 403);
  assert.equal(codeOf(r), 'client-certificate-identity-mismatch');
});

test('ignore-error: the reason goes to client-certificate-error, the request continues and nothing is forwarded', async () => {
  const h = await build(validateClientCertificate, { 'ignore-error': true, 'forward-client-certificate': true });
  const ex = tlsExchange(trusted(pki.clientRevoked, { headers: [['X-Forwarded-Client-Cert', 'Hash=forged']] }));
  assert.equal(await run(h, ex), undefined);
  assert.equal(ex.vars?.['client-certificate-error'], 'client-certificate-revoked');
  assert.equal(ex.upstreamHeaders['x-forwarded-client-cert'], undefined);
});

test('config errors are located: a malformed identity attribute, a CRL file that cannot be used', async () => {
  const at = (e: unknown) => (e instanceof ConfigError ? e.path.join('.') : `not a ConfigError: ${String(e)}`);
  await assert.rejects(build(validateClientCertificate, { identities: [{ 'common-name': 'x' }, { thumbprint: 'abc' }] }), (e) => at(e) === 'identities.1.thumbprint');
  await assert.rejects(build(validateClientCertificate, { identities: [{}] }), (e) => at(e) === 'identities.0');
  await assert.rejects(build(validateClientCertificate, { crl: ['no-such.crl.pem'] }, testContext({ configDir: pki.dir })),
    (e) => at(e) === 'crl.0' && /cannot use CRL .*no-such\.crl\.pem: file not found/.test((e as Error).message));
  await assert.rejects(build(validateClientCertificate, { crl: [pki.clientValid.cert] }), (e) => at(e) === 'crl.0');
  assert.throws(() => validateClientCertificate.schema.parse({ 'forward-header-name': 'Bad Name' }), /not a valid header name/);
});

test('the certificate facts are read once per connection', async () => {
  const h = await build(validateClientCertificate, {});
  const ex = tlsExchange(trusted(pki.clientValid));
  const socket = ex.req.socket as unknown as { getPeerCertificate: () => unknown };
  let reads = 0;
  const original = socket.getPeerCertificate;
  socket.getPeerCertificate = () => { reads++; return original(); };
  await run(h, ex);
  await run(h, ex);
  assert.equal(reads, 1);
});
