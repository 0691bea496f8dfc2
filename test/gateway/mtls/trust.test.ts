/**
 * The client trust material of an HTTPS listener (client-ca, crl): loaded once when the listener
 * starts, watched, a broken file refused while the previous content stays, a file that never
 * loaded reported and picked up once it is fixed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { loadClientTrust, type ClientTrust } from '../../../src/gateway/mtls/trust.js';
import { WatchedFile } from '../../../src/gateway/mtls/watched-file.js';
import { parseCrl } from '../../../src/gateway/mtls/revocation.js';
import { createPki, type Pki } from '../../helpers/certs.js';

let pki: Pki;
const opened: Array<{ close(): void }> = [];
const silent = pino({ level: 'silent' });

before(() => { pki = createPki(); });
after(() => { for (const o of opened) o.close(); });

function load(files: { clientCa?: string[]; crl?: string[] }, logger = silent): ClientTrust {
  const t = loadClientTrust({ clientCa: files.clientCa ?? [], crl: files.crl ?? [] }, logger);
  opened.push(t);
  return t;
}

/** a logger that keeps its error lines */
function recorder() {
  const lines: Array<{ msg: string; file?: string }> = [];
  const logger = pino({ level: 'error' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
  return { logger, lines };
}

async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the anchors are the certificates of every client-ca file, in order', () => {
  const bundle = join(pki.dir, 'bundle.pem');
  writeFileSync(bundle, pki.intermediate.pem + pki.otherCa.pem);
  const t = load({ clientCa: [pki.rootFile, bundle] });
  assert.deepEqual(t.anchors().map((c) => c.subject), [pki.root.x509.subject, pki.intermediate.x509.subject, pki.otherCa.x509.subject]);
  assert.equal(load({ clientCa: [pki.rootFile] }).anchors()[0]!.fingerprint256, pki.root.x509.fingerprint256);
  assert.deepEqual(load({}).anchors(), []);
});

test('files that cannot be used at start are logged, never thrown: no anchor, and a CRL that refuses (value undefined)', () => {
  const { logger, lines } = recorder();
  const garbage = join(pki.dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate');
  const t = load({ clientCa: [garbage], crl: [join(pki.dir, 'missing.crl.pem')] }, logger);
  assert.deepEqual(t.anchors(), []);
  assert.equal(t.crls[0]!.value, undefined);
  assert.deepEqual(lines.map((l) => l.msg), ['listener client-ca cannot be read', 'listener CRL cannot be used; certificates are refused as revoked']);
});

test('a file that never loaded is picked up once it is fixed', () => {
  const ca = join(pki.dir, 'late-ca.pem');
  const crl = join(pki.dir, 'late.crl.pem');
  writeFileSync(ca, 'not yet');
  writeFileSync(crl, 'not yet');
  const t = load({ clientCa: [ca], crl: [crl] });
  assert.deepEqual(t.anchors(), []);
  copyFileSync(pki.rootFile, ca);
  copyFileSync(pki.crl, crl);
  assert.equal(t.crls[0]!.reload(), true);
  assert.equal(t.crls[0]!.value?.count, 1);
  // the CA file reloads on its own change (watched)
  return eventually(() => t.anchors().length === 1, 'the fixed client-ca is loaded');
});

test('a CRL file changed on disk is reloaded by the watcher; a broken write keeps the previous list', async () => {
  const crl = join(pki.dir, 'watched.crl.pem');
  copyFileSync(pki.crl, crl);
  const t = load({ crl: [crl] });
  const first = t.crls[0]!.value;
  assert.equal(first?.count, 1);
  pki.writeCrl(pki.intermediate, [pki.clientRevoked, pki.clientValid], crl);
  await eventually(() => t.crls[0]!.value?.count === 2, 'the rewritten CRL is reloaded');
  const second = t.crls[0]!.value;
  writeFileSync(crl, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
  assert.equal(t.crls[0]!.reload(), false);
  assert.equal(t.crls[0]!.value, second, 'the previous list stays');
});

test('a WatchedFile without an initial-error handler throws when the file cannot be used', () => {
  assert.throws(() => new WatchedFile(join(pki.dir, 'absent.crl.pem'), parseCrl, silent, 'CRL'), /ENOENT/);
  assert.throws(() => new WatchedFile(pki.rootFile, parseCrl, silent, 'CRL'), /no X509 CRL/);
});

test('after close, a reload does nothing', () => {
  const crl = join(pki.dir, 'closed.crl.pem');
  copyFileSync(pki.crl, crl);
  const f = new WatchedFile(crl, parseCrl, silent, 'CRL');
  f.close();
  assert.equal(f.reload(), false);
  assert.equal(f.value?.count, 1);
});
