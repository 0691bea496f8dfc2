/**
 * TLS to backends: verified by default (system CAs or a `ca` bundle), name checks and the
 * `servername` override, SPKI pins, a client certificate for backends that require one (mTLS),
 * `insecure-skip-verify` (works, warns at every load, flagged by `gatehouse validate`), and
 * failures answered 502 backend-tls-failed without detail for the client.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { startGateway, runCli, writeConfig, type RunningGateway } from '../helpers/gateway.js';
import { createPki, type Issued, type Pki } from '../helpers/certs.js';

interface HttpsBackend { url: string; port: number; server: Server; hits: Array<{ url: string; clientCert: string | undefined; sni: string | false | undefined }> }

let pki: Pki;
let gw: RunningGateway;
let good: HttpsBackend;
let otherName: HttpsBackend;
let unknownCa: HttpsBackend;
let expired: HttpsBackend;
let mutual: HttpsBackend;
let gatewayClient: Issued;
const backends: HttpsBackend[] = [];

const DAY = 86400_000;

async function startHttpsBackend(cert: Issued, opts: { requireClientCert?: boolean } = {}): Promise<HttpsBackend> {
  const hits: HttpsBackend['hits'] = [];
  const server = createServer({
    cert: cert.chainPem, key: cert.keyPem,
    ...(opts.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: pki.root.pem } : {}),
  }, (req, res) => {
    const sock = req.socket as TLSSocket;
    const peer = sock.getPeerCertificate?.();
    hits.push({ url: req.url!, clientCert: peer && peer.subject ? peer.subject.CN as string : undefined, sni: sock.servername ?? undefined });
    req.resume();
    req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ ok: true, url: req.url })); });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const b = { url: `https://127.0.0.1:${port}`, port, server, hits };
  backends.push(b);
  return b;
}

/** base64 SHA-256 of the SubjectPublicKeyInfo (what `pin-sha256` takes) */
function spkiPin(c: Issued | X509Certificate): string {
  const x = c instanceof X509Certificate ? c : c.x509;
  return createHash('sha256').update(x.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

before(async () => {
  pki = createPki();
  const backendCert = pki.issue({ name: 'backend', subject: '/CN=orders.internal', issuer: pki.intermediate, dns: ['orders.internal'], ips: ['127.0.0.1'] });
  const otherNameCert = pki.issue({ name: 'backend-other', subject: '/CN=other.internal', issuer: pki.intermediate, dns: ['other.internal'] });
  const unknownCert = pki.issue({ name: 'backend-unknown', subject: '/CN=unknown', issuer: pki.otherCa, dns: ['unknown.internal'], ips: ['127.0.0.1'] });
  const expiredCert = pki.issue({ name: 'backend-expired', subject: '/CN=expired', issuer: pki.intermediate, ips: ['127.0.0.1'],
    notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
  gatewayClient = pki.issue({ name: 'gateway-client', subject: '/O=Gatehouse Test/CN=gatehouse', issuer: pki.intermediate, usage: 'client', passphrase: 'gw pass' });
  good = await startHttpsBackend(backendCert);
  otherName = await startHttpsBackend(otherNameCert);
  unknownCa = await startHttpsBackend(unknownCert);
  expired = await startHttpsBackend(expiredCert);
  mutual = await startHttpsBackend(backendCert, { requireClientCert: true });
  const root = pki.rootFile;
  const api = (name: string) => `  - { name: ${name}, path: /${name}, backend: ${name} }\n`;
  gw = await startGateway(`
gateway: { listen: { http: { port: 0, host: 127.0.0.1 } }, admin: { listen: 0 } }
backends:
  verified: { url: "${good.url}", tls: { ca: "${root}" } }
  system-cas: { url: "${good.url}" }
  unknown-ca: { url: "${unknownCa.url}", tls: { ca: "${root}" } }
  wrong-name: { url: "${otherName.url}", tls: { ca: "${root}" } }
  servername: { url: "${otherName.url}", tls: { ca: "${root}", servername: other.internal } }
  expired: { url: "${expired.url}", tls: { ca: "${root}" } }
  pinned-leaf: { url: "${good.url}", tls: { ca: "${root}", pin-sha256: ["${spkiPin(pki.serverB)}", "${spkiPin(pki.intermediate)}"] } }
  pinned-wrong: { url: "${good.url}", tls: { ca: "${root}", pin-sha256: ["${spkiPin(pki.serverB)}"] } }
  mtls: { url: "${mutual.url}", tls: { ca: "${root}", cert: "${gatewayClient.chain}", key: "${gatewayClient.key}", passphrase: "\${ENV:GW_KEY_PASS}" } }
  mtls-missing: { url: "${mutual.url}", tls: { ca: "${root}" } }
  insecure: { url: "${unknownCa.url}", tls: { insecure-skip-verify: true } }
apis:
${['verified', 'system-cas', 'unknown-ca', 'wrong-name', 'servername', 'expired', 'pinned-leaf', 'pinned-wrong', 'mtls', 'mtls-missing', 'insecure'].map(api).join('')}`,
  { env: { GW_KEY_PASS: 'gw pass' } });
});

after(async () => {
  await gw?.stop();
  for (const b of backends) { b.server.closeAllConnections(); b.server.close(); }
});

async function call(path: string) {
  const res = await fetch(`${gw.url}${path}`);
  const body = await res.text();
  return { status: res.status, body, json: JSON.parse(body) as Record<string, unknown> };
}

function assertTlsFailure(r: Awaited<ReturnType<typeof call>>, b: HttpsBackend, before: number) {
  assert.equal(r.status, 502, r.body);
  assert.equal(r.json.code, 'backend-tls-failed');
  assert.equal(b.hits.length, before, 'nothing was sent to the backend');
  // no detail for the client: not the address, not the reason, not a stack
  assert.doesNotMatch(r.body, /127\.0\.0\.1|internal|expired|CERT|self.signed|altname|stack|Error:/i);
}

test('an https backend is verified with its ca bundle', async () => {
  const n = good.hits.length;
  const r = await call('/verified/x');
  assert.equal(r.status, 200, r.body);
  assert.equal(good.hits.length, n + 1);
});

test('without a ca, the system CAs are used: a private CA is refused with 502 backend-tls-failed', async () => {
  assertTlsFailure(await call('/system-cas/x'), good, good.hits.length);
});

test('a backend certificate of an unknown CA is refused with 502 and no detail', async () => {
  assertTlsFailure(await call('/unknown-ca/x'), unknownCa, unknownCa.hits.length);
});

test('a backend certificate for another name is refused with 502', async () => {
  assertTlsFailure(await call('/wrong-name/x'), otherName, otherName.hits.length);
});

test('servername sets the SNI and the name the certificate is verified against', async () => {
  const n = otherName.hits.length;
  const r = await call('/servername/x');
  assert.equal(r.status, 200, r.body);
  assert.equal(otherName.hits[n]!.sni, 'other.internal');
});

test('an expired backend certificate is refused with 502', async () => {
  assertTlsFailure(await call('/expired/x'), expired, expired.hits.length);
});

test('the log says why a backend handshake failed (the client is not told)', async () => {
  await call('/expired/y');
  const line = await gw.waitForLog((l) => JSON.stringify(l).includes('CERT_HAS_EXPIRED'), 2000);
  assert.ok(line);
});

test('pin-sha256: a pin of a key in the chain (here the intermediate) passes; other pins are refused', async () => {
  const n = good.hits.length;
  assert.equal((await call('/pinned-leaf/x')).status, 200);
  assert.equal(good.hits.length, n + 1);
  assertTlsFailure(await call('/pinned-wrong/x'), good, good.hits.length);
});

test('mTLS to a backend that requires a client certificate: succeeds with tls.cert/key (passphrase from the env), fails without', async () => {
  const n = mutual.hits.length;
  const r = await call('/mtls/x');
  assert.equal(r.status, 200, r.body);
  assert.equal(mutual.hits[n]!.clientCert, 'gatehouse');
  const r2 = await call('/mtls-missing/x');
  assert.equal(r2.status, 502, r2.body);
  assert.match(String(r2.json.code), /^backend-(tls|connection)-failed$/);
  assert.equal(mutual.hits.length, n + 1, 'the backend served nothing without the client certificate');
  assert.doesNotMatch(r2.body, /127\.0\.0\.1|CERT|alert|stack/i);
});

test('insecure-skip-verify reaches a backend of an unknown CA and logs a warning at load', async () => {
  const n = unknownCa.hits.length;
  assert.equal((await call('/insecure/x')).status, 200);
  assert.equal(unknownCa.hits.length, n + 1);
  const warn = gw.logs.find((l) => l.backend === 'insecure' && String(l.msg).includes('insecure-skip-verify'));
  assert.ok(warn, 'a warning names the backend');
  assert.equal(warn.level, 'warn');
});

test('gatehouse validate flags insecure-skip-verify', async () => {
  const file = writeConfig(`
gateway: { listen: { http: 0 } }
backends:
  legacy: { url: "https://legacy.internal", tls: { insecure-skip-verify: true } }
  fine: { url: "https://fine.internal" }
apis:
  - { name: legacy, path: /legacy, backend: legacy }
  - { name: fine, path: /fine, backend: fine }
`);
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /WARNING: backend legacy has tls\.insecure-skip-verify/);
  assert.doesNotMatch(r.stdout, /backend fine has/);
});
