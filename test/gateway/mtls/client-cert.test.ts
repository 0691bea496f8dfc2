/**
 * Unit tests of the client-certificate helpers: names, thumbprints, serials, CRL parsing, our
 * own chain verification (used when OpenSSL's single error hides an untrusted chain), revocation
 * by issuer and serial, identities, and X-Forwarded-Client-Cert formatting under hostile subjects.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDnKey, nodeDnKey, normalizeSerial, parseSubjectAltName, parseThumbprint } from '../../../src/gateway/mtls/names.js';
import { describeCertificate, type ClientCertificate } from '../../../src/gateway/mtls/peer.js';
import { issuerCertificate, verifyChain } from '../../../src/gateway/mtls/chain.js';
import { isRevoked, parseCrl } from '../../../src/gateway/mtls/revocation.js';
import { parseCaBundle } from '../../../src/gateway/mtls/pem.js';
import { compileIdentity } from '../../../src/gateway/mtls/identity.js';
import { formatXfcc } from '../../../src/gateway/mtls/forward.js';
import { createPki, type Issued, type Pki } from '../../helpers/certs.js';

let pki: Pki;
let evil: Issued;
let serverOnly: Issued;
let forged: Issued;
let fakeIntermediate: Issued;
const DAY = 86400_000;

before(() => {
  pki = createPki();
  evil = pki.issue({ name: 'evil', subject: '/O=Gatehouse Test/CN=evil\r\nx-injected: 1/OU=a"b\\,c;d=x', issuer: pki.intermediate, usage: 'client', dns: ['x.test'], uris: ['spiffe://t/a;Hash=00'] });
  serverOnly = pki.issue({ name: 'server-only', subject: '/CN=server-only', issuer: pki.intermediate, usage: 'server' });
  fakeIntermediate = pki.issue({ name: 'fake-int', subject: '/O=Gatehouse Test/CN=Test Intermediate CA', ca: true });
  forged = pki.issue({ name: 'forged', subject: '/O=Gatehouse Test/OU=Clients/CN=client-valid', issuer: fakeIntermediate, usage: 'client' });
});

/** What a connection would present: the leaf and its chain (as the client sent it) */
function facts(c: Issued, chain: Issued[] = [pki.intermediate], authorized = false, err?: string): ClientCertificate {
  return describeCertificate(c.x509, chain.map((x) => x.x509), authorized, err);
}
const anchors = () => [pki.root.x509];
const ALL_DATES = { notBefore: true, notAfter: true };
const NO_DATES = { notBefore: false, notAfter: false };

test('distinguished names compare regardless of attribute order, case and spacing', () => {
  const fromCert = nodeDnKey(pki.clientValid.x509.subject);
  assert.equal(configDnKey('CN=client-valid, OU=Clients, O=Gatehouse Test'), fromCert);
  assert.equal(configDnKey('o=gatehouse test;ou=clients;cn=CLIENT-VALID'), fromCert);
  assert.notEqual(configDnKey('CN=client-valid, O=Gatehouse Test'), fromCert, 'a missing attribute does not match');
  assert.equal(configDnKey('CN=a\\, b, O=x'), nodeDnKey('O=x\nCN=a\\, b'), 'escaped commas are part of the value');
  assert.equal(configDnKey('E=a@b.test, CN=x'), configDnKey('emailAddress=a@b.test, CN=x'));
  for (const bad of ['', 'garbage', '=x', 'C N=x']) assert.throws(() => configDnKey(bad), `${JSON.stringify(bad)} is refused`);
});

test('thumbprints: 40 hex digits are SHA-1, 64 are SHA-256; colons and case are ignored; anything else is refused', () => {
  assert.deepEqual(parseThumbprint(pki.clientValid.x509.fingerprint), { alg: 'sha1', hex: pki.clientValid.sha1 });
  assert.deepEqual(parseThumbprint(pki.clientValid.sha256.toLowerCase()), { alg: 'sha256', hex: pki.clientValid.sha256 });
  for (const bad of ['', 'abc', pki.clientValid.sha1.slice(1), pki.clientValid.sha256 + '00', 'Z'.repeat(40)]) assert.equal(parseThumbprint(bad), undefined);
  assert.equal(normalizeSerial('00:0a:Bc'), 'ABC');
  assert.equal(normalizeSerial('0'), '0');
});

test('subject alternative names are split safely, quoted entries included', () => {
  assert.deepEqual(parseSubjectAltName('DNS:a.test, URI:spiffe://x/y, IP Address:127.0.0.1, DNS:B.test'), { dns: ['a.test', 'b.test'], uri: ['spiffe://x/y'] });
  assert.deepEqual(parseSubjectAltName('DNS:"a.test, DNS:evil.test"'), { dns: ['a.test, dns:evil.test'], uri: [] }, 'a quoted comma does not create a second name');
  assert.deepEqual(parseSubjectAltName(undefined), { dns: [], uri: [] });
});

test('verifies the chain to the client CA itself: trusted, other CA, forged intermediate, server-only usage', () => {
  const now = Date.now();
  assert.equal(verifyChain(facts(pki.clientValid), anchors(), now, ALL_DATES), 'ok');
  assert.equal(verifyChain(facts(pki.clientOtherCa, [pki.otherCa]), anchors(), now, ALL_DATES), 'untrusted');
  assert.equal(verifyChain(facts(forged, [fakeIntermediate]), anchors(), now, ALL_DATES), 'untrusted', 'a CA that copies the intermediate name is not it');
  assert.equal(verifyChain(facts(forged, [fakeIntermediate, pki.intermediate]), anchors(), now, ALL_DATES), 'untrusted', 'adding the real intermediate to the chain does not help');
  assert.equal(verifyChain(facts(serverOnly), anchors(), now, ALL_DATES), 'untrusted', 'a certificate for servers only is not a client certificate');
  assert.equal(verifyChain(facts(pki.clientValid, []), anchors(), now, ALL_DATES), 'untrusted', 'the intermediate must be presented');
  assert.equal(verifyChain(facts(pki.clientValid, []), [pki.intermediate.x509], now, ALL_DATES), 'ok', 'or be a trust anchor itself');
  assert.equal(verifyChain(facts(pki.clientValid), [], now, ALL_DATES), 'untrusted', 'no anchors, no trust');
  assert.equal(verifyChain(facts(pki.clientExpired), anchors(), now, NO_DATES), 'ok', 'the leaf dates are checked by the policy, not here');
});

test('a leaf that is a CA certificate signed by nobody we trust is untrusted even with date checks off', () => {
  assert.equal(verifyChain(facts(pki.otherCa, []), anchors(), Date.now(), NO_DATES), 'untrusted');
});

test('an expired intermediate makes the chain expired, unless date checks are off', () => {
  const oldInt = pki.issue({ name: 'old-int', subject: '/CN=Old Intermediate', ca: true, issuer: pki.root, notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - DAY) });
  const leaf = pki.issue({ name: 'old-int-leaf', subject: '/CN=leaf', issuer: oldInt, usage: 'client', notBefore: new Date(Date.now() - 30 * DAY) });
  assert.equal(verifyChain(facts(leaf, [oldInt]), anchors(), Date.now(), ALL_DATES), 'expired');
  assert.equal(verifyChain(facts(leaf, [oldInt]), anchors(), Date.now(), NO_DATES), 'ok');
});

test('CRLs: parsed from PEM, revoke by serial AND issuer; a same serial from another issuer is not revoked', () => {
  const list = parseCrl(readFileSync(pki.crl));
  assert.equal(list.count, 1);
  assert.ok(list.nextUpdate > Date.now());
  assert.equal(isRevoked(facts(pki.clientRevoked), [list]), true);
  assert.equal(isRevoked(facts(pki.clientValid), [list]), false);
  // a CRL of the other CA listing the other CA's client: does not revoke a same-serial certificate of our CA
  const otherCrl = parseCrl(readFileSync(pki.writeCrl(pki.otherCa, [pki.clientOtherCa])));
  assert.equal(isRevoked(facts(pki.clientOtherCa, [pki.otherCa]), [otherCrl]), true);
  const sameSerial = facts(pki.clientValid);
  (sameSerial as { serial: string }).serial = normalizeSerial(pki.clientOtherCa.serial);
  assert.equal(isRevoked(sameSerial, [otherCrl]), false);
  // a revoked intermediate revokes what it issued
  const rootCrl = parseCrl(readFileSync(pki.writeCrl(pki.root, [pki.intermediate])));
  assert.equal(isRevoked(facts(pki.clientValid), [rootCrl]), true);
});

test('CRLs: DER and several CRLs in one file are read; garbage is refused', () => {
  const pem = readFileSync(pki.crl, 'utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  assert.equal(parseCrl(der).count, 1);
  const both = pem + readFileSync(pki.writeCrl(pki.otherCa, [pki.clientOtherCa]), 'utf8');
  assert.equal(parseCrl(Buffer.from(both)).count, 2);
  assert.throws(() => parseCrl(Buffer.from('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n')));
  assert.throws(() => parseCrl(Buffer.from('hello')));
  assert.throws(() => parseCrl(Buffer.from(pki.clientValid.pem)), 'a certificate is not a CRL');
  assert.equal(parseCaBundle(Buffer.from(pki.root.pem + pki.intermediate.pem)).length, 2);
  const f = join(pki.dir, 'empty.pem');
  writeFileSync(f, '');
  assert.throws(() => parseCaBundle(readFileSync(f)));
});

test('identities: every attribute of one identity must match', () => {
  const c = facts(pki.clientValid);
  const m = (id: Parameters<typeof compileIdentity>[0]) => compileIdentity(id)(c, anchors());
  assert.equal(m({ 'common-name': 'client-valid', 'dns-name': 'CLIENT-VALID.clients.test' }), true);
  assert.equal(m({ 'common-name': 'client-valid', 'dns-name': 'other.test' }), false);
  assert.equal(m({ 'serial-number': pki.clientValid.serial.toLowerCase() }), true);
  assert.equal(m({ 'issuer-subject': 'CN=Test Intermediate CA, O=Gatehouse Test' }), true);
  assert.equal(m({ 'issuer-thumbprint': pki.intermediate.sha1 }), true);
  assert.equal(m({ 'issuer-thumbprint': pki.root.sha1 }), false, 'the issuer is the intermediate, not the root');
  assert.equal(m({ thumbprint: pki.clientValid.sha256 }), true);
  assert.equal(m({ thumbprint: pki.clientWrongSan.sha256 }), false);
  assert.equal(m({ 'common-name': 'Client-Valid' }), false, 'common names are exact');
});

test('issuer-thumbprint trusts only the signature: a forged chain that presents the real intermediate does not match', () => {
  const c = facts(forged, [pki.intermediate, fakeIntermediate]);
  assert.equal(compileIdentity({ 'issuer-thumbprint': pki.intermediate.sha256 })(c, []), false);
  assert.equal(issuerCertificate(c)?.fingerprint256, fakeIntermediate.x509.fingerprint256);
});

test('identities: malformed attributes are refused at load, naming the attribute', () => {
  const attr = (id: Parameters<typeof compileIdentity>[0]) => { try { compileIdentity(id); return 'accepted'; } catch (e) { return (e as { attr?: string }).attr; } };
  assert.equal(attr({ thumbprint: 'abc' }), 'thumbprint');
  assert.equal(attr({ 'issuer-thumbprint': 'xyz' }), 'issuer-thumbprint');
  assert.equal(attr({ 'serial-number': 'not hex' }), 'serial-number');
  assert.equal(attr({ subject: 'garbage' }), 'subject');
  assert.equal(attr({}), undefined);
});

test('X-Forwarded-Client-Cert: a hostile subject cannot break the quoting, add fields or lines', () => {
  const v = formatXfcc(facts(evil), true);
  assert.doesNotMatch(v, /[\r\n]/);
  assert.match(v, /^[\x20-\x7e]+$/, 'printable ASCII only');
  // parse it the way proxies do: key=value pairs split on ; outside quotes, \ escapes inside
  const fields: Array<[string, string]> = [];
  const re = /([A-Za-z]+)=("(?:[^"\\]|\\.)*"|[^;]*)(?:;|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(v)) !== null && m[0] !== '') fields.push([m[1]!, m[2]!.startsWith('"') ? m[2]!.slice(1, -1).replace(/\\(.)/g, '$1') : m[2]!]);
  assert.deepEqual(fields.map(([k]) => k), ['Hash', 'Cert', 'Subject', 'URI', 'DNS']);
  assert.equal(fields[0]![1], evil.sha256.toLowerCase());
  assert.equal(decodeURIComponent(fields[1]![1]), evil.pem);
  assert.match(fields[2]![1], /^CN=evil\\0D\\0Ax-injected: 1,/);
  assert.equal(fields[3]![1], 'spiffe://t/a%3BHash%3D00');
});

test('thumbprints of the described certificate are what openssl prints', () => {
  const c = facts(pki.clientValid);
  const x = new X509Certificate(pki.clientValid.pem);
  assert.equal(c.sha1, x.fingerprint.replace(/:/g, ''));
  assert.equal(c.sha256, x.fingerprint256.replace(/:/g, ''));
});
