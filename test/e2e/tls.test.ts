/**
 * HTTPS listeners end to end: SNI certificate choice (exact, wildcard, default), HTTP/2 and
 * HTTP/1.1 on one port by ALPN (node:http2, node:https, undici, curl), 421 on a reused HTTP/2
 * connection, redirect-to-https, HSTS, a passphrase from the environment, certificate reload
 * under traffic, a broken certificate file refused, and TLS versions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { constants as h2constants } from 'node:http2';
import { Agent, request as undiciRequest } from 'undici';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { createPki, httpsGet, h2Connect, h2Request, type Issued, type Pki } from '../helpers/certs.js';

let pki: Pki;
let gw: RunningGateway;
let backend: TestBackend;
let wildEnc: Issued;
let reload1: Issued;
let reload2: Issued;
let reloadCert: string;
let reloadKey: string;
let httpsPort: number;
const execFileAsync = promisify(execFile);

before(async () => {
  pki = createPki();
  wildEnc = pki.issue({ name: 'wild-enc', subject: '/O=Gatehouse Test/CN=*.wild.test', issuer: pki.intermediate, dns: ['*.wild.test'], passphrase: 'wild s3cret' });
  reload1 = pki.issue({ name: 'reload-1', subject: '/CN=reload.test', issuer: pki.intermediate, dns: ['reload.test'] });
  reload2 = pki.issue({ name: 'reload-2', subject: '/CN=reload.test', issuer: pki.intermediate, dns: ['reload.test'] });
  reloadCert = join(pki.dir, 'live.pem');
  reloadKey = join(pki.dir, 'live.key');
  copyFileSync(reload1.chain, reloadCert);
  copyFileSync(reload1.key, reloadKey);
  backend = await startBackend();
  gw = await startGateway(`
gateway:
  listen:
    http: { port: 0, host: 127.0.0.1, redirect-to-https: true }
    https:
      - name: https
        port: 0
        host: 127.0.0.1
        certificates:
          - { cert: "${pki.serverA.chain}", key: "${pki.serverA.key}" }
          - { cert: "${pki.serverB.chain}", key: "${pki.serverB.key}" }
          - { cert: "${wildEnc.chain}", key: "${wildEnc.key}", passphrase: "\${ENV:WILD_KEY_PASS}" }
      - name: tls13
        port: 0
        host: 127.0.0.1
        min-version: TLSv1.3
        max-concurrent-streams: 7
        certificates: [{ cert: "${pki.serverA.chain}", key: "${pki.serverA.key}" }]
      - name: reload
        port: 0
        host: 127.0.0.1
        certificates: [{ cert: "${reloadCert}", key: "${reloadKey}" }]
  hsts: { max-age: 86400, include-subdomains: true }
  admin: { listen: 0 }
backends: { echo: { url: "${backend.url}" } }
apis:
  - { name: root, path: /, backend: echo }
`, { waitFor: ['https', 'tls13', 'reload', 'http', 'admin'], env: { WILD_KEY_PASS: 'wild s3cret' } });
  httpsPort = gw.ports.https!;
});

after(async () => {
  await gw?.stop();
  await backend?.close();
});

const ca = () => pki.root.pem;

/** The certificate the listener presents for an SNI name (undefined: no SNI). */
function presented(port: number, servername: string | undefined, extra: ConnectionOptions = {}): Promise<{ serial: string; version: string | null }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: ca(), ...(servername ? { servername } : {}), checkServerIdentity: () => undefined, ...extra }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber ?? '';
      const version = s.getProtocol();
      s.end();
      resolve({ serial, version });
    });
    s.on('error', reject);
  });
}

test('SNI chooses the certificate: exact names, the wildcard, and the first certificate by default', async () => {
  assert.equal((await presented(httpsPort, 'a.test')).serial, pki.serverA.serial);
  assert.equal((await presented(httpsPort, 'api.a.test')).serial, pki.serverA.serial);
  assert.equal((await presented(httpsPort, 'b.test')).serial, pki.serverB.serial);
  assert.equal((await presented(httpsPort, 'B.TEST')).serial, pki.serverB.serial, 'SNI is case-insensitive');
  assert.equal((await presented(httpsPort, 'orders.wild.test')).serial, wildEnc.serial, 'the wildcard (its key has a passphrase from ${ENV:...})');
  assert.equal((await presented(httpsPort, 'deep.orders.wild.test')).serial, pki.serverA.serial, 'a wildcard covers one label only');
  assert.equal((await presented(httpsPort, 'wild.test')).serial, pki.serverA.serial, 'a wildcard does not cover its parent');
  assert.equal((await presented(httpsPort, 'unknown.test')).serial, pki.serverA.serial);
  assert.equal((await presented(httpsPort, undefined)).serial, pki.serverA.serial);
});

test('the certificate chain verifies for each name with the standard name check', async () => {
  for (const name of ['a.test', 'b.test', 'x.wild.test']) {
    const r = await httpsGet(`https://127.0.0.1:${httpsPort}/hello`, { ca: ca(), servername: name, headers: { host: name } });
    assert.equal(r.status, 200, `${name}: ${r.body}`);
  }
});

test('HTTP/2 (node:http2), HTTP/1.1 (node:https) and undici share one port; ALPN decides', async () => {
  const h1 = await httpsGet(`https://127.0.0.1:${httpsPort}/same?x=1`, { ca: ca(), servername: 'a.test', headers: { host: 'a.test' }, ALPNProtocols: ['http/1.1'] });
  assert.equal(h1.status, 200);
  assert.equal(h1.alpn, 'http/1.1');
  const session = await h2Connect(`https://127.0.0.1:${httpsPort}`, { ca: ca(), servername: 'a.test' });
  try {
    assert.equal(session.alpnProtocol, 'h2');
    const h2 = await h2Request(session, '/same?x=1', { ':authority': 'a.test' });
    assert.equal(h2.status, 200);
    assert.deepEqual(JSON.parse(h2.body).url, JSON.parse(h1.body).url);
    assert.equal(h2.headers['strict-transport-security'], h1.headers['strict-transport-security']);
  } finally {
    session.close();
  }
  const agent = new Agent({ connect: { ca: ca(), servername: 'a.test' } });
  try {
    const r = await undiciRequest(`https://127.0.0.1:${httpsPort}/same?x=1`, { dispatcher: agent, headers: { host: 'a.test' } });
    assert.equal(r.statusCode, 200);
    assert.equal((await r.body.json() as { url: string }).url, JSON.parse(h1.body).url);
  } finally {
    await agent.close();
  }
});

test('curl negotiates HTTP/2 and HTTP/1.1 on the same port', { skip: !hasCurl() && 'curl is not installed' }, async () => {
  // async: the backend runs in this process and must keep answering while curl waits
  const curl = async (args: string[]) => (await execFileAsync('curl', ['-sS', '--max-time', '20', '--cacert', pki.rootFile, '--resolve', `a.test:${httpsPort}:127.0.0.1`,
    '-o', '/dev/null', '-w', '%{http_code} %{http_version}', ...args, `https://a.test:${httpsPort}/curl`])).stdout;
  assert.equal(await curl(['--http2']), '200 2');
  assert.equal(await curl(['--http1.1']), '200 1.1');
});

test('421 when a reused HTTP/2 connection asks for a host of another certificate', async () => {
  const session = await h2Connect(`https://127.0.0.1:${httpsPort}`, { ca: ca(), servername: 'a.test' });
  const before = backend.requests.length;
  try {
    const other = await h2Request(session, '/x', { ':authority': 'b.test' });
    assert.equal(other.status, 421);
    assert.equal(JSON.parse(other.body).code, 'misdirected-request');
    const wild = await h2Request(session, '/x', { ':authority': 'shop.wild.test' });
    assert.equal(wild.status, 421);
    assert.equal(backend.requests.length, before, 'misdirected requests never reach the backend');
    const same = await h2Request(session, '/x', { ':authority': 'api.a.test' });
    assert.equal(same.status, 200, 'another name of the same certificate is fine');
  } finally {
    session.close();
  }
  const h1 = await httpsGet(`https://127.0.0.1:${httpsPort}/x`, { ca: ca(), servername: 'b.test', headers: { host: 'a.test' } });
  assert.equal(h1.status, 421, 'HTTP/1.1 with a Host of another certificate too');
});

test('the plain HTTP listener redirects to HTTPS with 308, keeping path and query', async () => {
  const res = await plain('GET', '/orders/7?x=1&y=%2F', 'a.test');
  assert.equal(res.status, 308);
  assert.equal(res.location, `https://a.test:${httpsPort}/orders/7?x=1&y=%2F`);
  const withPort = await plain('GET', '/x', 'a.test:8080');
  assert.equal(withPort.location, `https://a.test:${httpsPort}/x`, 'the HTTPS port replaces the one the client used');
  const before = backend.requests.length;
  const post = await plain('POST', '/orders', 'a.test', 'x');
  assert.equal(post.status, 308, '308 keeps the method');
  assert.equal(backend.requests.length, before, 'nothing is proxied over plain HTTP');
  for (const host of ['evil.test/@other', 'a.test\\@evil.test', 'evil.test"><script>']) {
    const bad = await plain('GET', '/x', host).catch(() => ({ status: 400, location: undefined }));
    assert.notEqual(bad.status, 308, `Host ${host} is not reflected into Location`);
    assert.equal(bad.location, undefined);
  }
});

function plain(method: string, path: string, host: string, body?: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: gw.ports.http, method, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('HSTS is sent on HTTPS responses, problems included', async () => {
  const ok = await httpsGet(`https://127.0.0.1:${httpsPort}/x`, { ca: ca(), servername: 'a.test', headers: { host: 'a.test' } });
  assert.equal(ok.headers['strict-transport-security'], 'max-age=86400; includeSubDomains');
  const problem = await httpsGet(`https://127.0.0.1:${httpsPort}/x`, { ca: ca(), servername: 'b.test', headers: { host: 'a.test' } });
  assert.equal(problem.status, 421);
  assert.equal(problem.headers['strict-transport-security'], 'max-age=86400; includeSubDomains');
});

test('TLS 1.1 is refused; a TLSv1.3 listener refuses TLS 1.2', async () => {
  await assert.rejects(presented(httpsPort, 'a.test', { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  assert.equal((await presented(httpsPort, 'a.test', { maxVersion: 'TLSv1.2' })).version, 'TLSv1.2');
  assert.equal((await presented(httpsPort, 'a.test')).version, 'TLSv1.3');
  await assert.rejects(presented(gw.ports.tls13!, 'a.test', { maxVersion: 'TLSv1.2' }));
  assert.equal((await presented(gw.ports.tls13!, 'a.test')).version, 'TLSv1.3');
});

test('certificates reload under traffic without a failed request; new connections get the new one, open ones stay', async () => {
  const port = gw.ports.reload!;
  const opts = { ca: ca(), servername: 'reload.test', headers: { host: 'reload.test' } };
  const session = await h2Connect(`https://127.0.0.1:${port}`, { ca: ca(), servername: 'reload.test' });
  assert.equal((await h2Request(session, '/before', { ':authority': 'reload.test' })).status, 200);
  const seen = new Map<string, number>();
  const failures: string[] = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const r = await httpsGet(`https://127.0.0.1:${port}/load`, opts);
        if (r.status !== 200) failures.push(`status ${r.status}`);
        const s = r.peer?.serialNumber ?? '?';
        seen.set(s, (seen.get(s) ?? 0) + 1);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const workers = [worker(), worker(), worker(), worker()];
  try {
    while ((seen.get(reload1.serial) ?? 0) < 10) await new Promise((r) => setTimeout(r, 20));
    const reloaded = gw.waitForLog((l) => l.msg === 'certificates reloaded' && l.listener === 'reload');
    writeFileSync(reloadCert, reload2.chainPem);
    writeFileSync(reloadKey, reload2.keyPem);
    await reloaded;
    const deadline = Date.now() + 10_000;
    while ((seen.get(reload2.serial) ?? 0) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  assert.deepEqual(failures, []);
  assert.ok((seen.get(reload2.serial) ?? 0) >= 10, `the new certificate is served: ${JSON.stringify([...seen])}`);
  // the HTTP/2 connection opened before the reload still works
  assert.equal((await h2Request(session, '/after', { ':authority': 'reload.test' })).status, 200);
  session.close();
  assert.equal((await presented(port, 'reload.test')).serial, reload2.serial);
});

test('a broken new certificate file is refused with a log line and the old certificate stays', async () => {
  const port = gw.ports.reload!;
  const current = (await presented(port, 'reload.test')).serial;
  const refused = gw.waitForLog((l) => l.msg === 'certificate reload refused; the previous certificates stay' && l.listener === 'reload');
  writeFileSync(reloadCert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
  await refused;
  assert.equal((await presented(port, 'reload.test')).serial, current);
  const r = await httpsGet(`https://127.0.0.1:${port}/still`, { ca: ca(), servername: 'reload.test', headers: { host: 'reload.test' } });
  assert.equal(r.status, 200);
  // a key that does not match the certificate is refused too
  const isRefusal = (l: Record<string, unknown>) => l.msg === 'certificate reload refused; the previous certificates stay' && l.listener === 'reload';
  const already = gw.logs.filter(isRefusal).length;
  const refused2 = gw.waitForLog((l) => isRefusal(l) && gw.logs.filter(isRefusal).length > already);
  writeFileSync(reloadCert, reload1.chainPem);
  await refused2;
  assert.equal((await presented(port, 'reload.test')).serial, current);
});

test('HTTP/2 limits are advertised: concurrent streams, header list size, no server push', async () => {
  const session = await h2Connect(`https://127.0.0.1:${gw.ports.tls13}`, { ca: ca(), servername: 'a.test' });
  try {
    if (session.remoteSettings.maxConcurrentStreams !== 7) await new Promise((r) => session.once('remoteSettings', r));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
    assert.ok(session.remoteSettings.maxHeaderListSize! <= 65536, `header list bounded: ${session.remoteSettings.maxHeaderListSize}`);
    assert.equal(session.remoteSettings.enablePush, false);
    await assert.rejects(h2Request(session, '/x', { 'x-big': 'b'.repeat(100_000) }), 'an oversized header block is refused');
  } finally {
    session.destroy();
  }
  const fresh = await h2Connect(`https://127.0.0.1:${gw.ports.tls13}`, { ca: ca(), servername: 'a.test' });
  assert.equal((await h2Request(fresh, '/after-big', { ':authority': 'a.test' })).status, 200);
  fresh.close();
});

test('HTTP/2 rapid reset: a session that opens and cancels streams in a loop is closed, others are served', async () => {
  const abuser = await h2Connect(`https://127.0.0.1:${httpsPort}`, { ca: ca(), servername: 'a.test' });
  const closed = new Promise<void>((r) => abuser.once('close', () => r()));
  abuser.on('error', () => {});
  const before = backend.requests.length;
  let sent = 0;
  for (let i = 0; i < 20_000 && !abuser.closed && !abuser.destroyed; i++) {
    try {
      const r = abuser.request({ ':path': '/rapid', ':authority': 'a.test' });
      r.on('error', () => {});
      r.close(h2constants.NGHTTP2_CANCEL);
      sent++;
    } catch { break; }
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
  assert.ok(abuser.closed || abuser.destroyed, `the abusive session was closed (after ${sent} streams)`);
  assert.ok(backend.requests.length - before < sent, 'cancelled streams are not all forwarded');
  const other = await h2Connect(`https://127.0.0.1:${httpsPort}`, { ca: ca(), servername: 'a.test' });
  assert.equal((await h2Request(other, '/still-serving', { ':authority': 'a.test' })).status, 200);
  other.close();
});

test('certificates replaced atomically (rename into place, as Kubernetes secrets do) are reloaded every time', async () => {
  const port = gw.ports.reload!;
  const isReload = (l: Record<string, unknown>) => l.msg === 'certificates reloaded' && l.listener === 'reload';
  for (const next of [reload1, reload2, reload1]) {
    const already = gw.logs.filter(isReload).length;
    const reloaded = gw.waitForLog((l) => isReload(l) && gw.logs.filter(isReload).length > already, 5000);
    writeFileSync(`${reloadCert}.new`, next.chainPem);
    writeFileSync(`${reloadKey}.new`, next.keyPem);
    renameSync(`${reloadCert}.new`, reloadCert);
    renameSync(`${reloadKey}.new`, reloadKey);
    await reloaded;
    assert.equal((await presented(port, 'reload.test')).serial, next.serial);
  }
});

function hasCurl(): boolean {
  try { execFileSync('curl', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}
