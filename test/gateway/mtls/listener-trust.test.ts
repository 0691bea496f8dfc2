/**
 * The HTTPS listener loads its client trust material (client-ca, crl) when it starts, through the
 * real gateway process: once it listens, the files can disappear and requests are still validated
 * with what was loaded (no file I/O on the request path), and the loss is logged, not served.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from '../../helpers/gateway.js';
import { startBackend, type TestBackend } from '../../helpers/backend.js';
import { createPki, httpsGet, type Issued, type Pki } from '../../helpers/certs.js';

let pki: Pki;
let gw: RunningGateway | undefined;
let backend: TestBackend | undefined;
let base: string;
let ca: string;
let crl: string;

before(async () => {
  pki = createPki();
  ca = join(pki.dir, 'listener-ca.pem');
  crl = join(pki.dir, 'listener.crl.pem');
  copyFileSync(pki.rootFile, ca);
  copyFileSync(pki.crl, crl);
  backend = await startBackend();
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
    https:
      - name: https
        port: 0
        host: 127.0.0.1
        certificates: [{ cert: "${pki.serverA.chain}", key: "${pki.serverA.key}" }]
        client-certificate: request
        client-ca: ["${ca}"]
        crl: ["${crl}"]
  admin: { listen: 0 }
backends: { echo: { url: "${backend.url}" } }
apis:${api('strict', '{}')}${api('no-dates', '{ validate-not-after: false }')}
`, { waitFor: ['https', 'http', 'admin'] });
  base = `https://127.0.0.1:${gw.ports.https}`;
});

after(async () => {
  await gw?.stop();
  await backend?.close();
});

async function call(path: string, c: Issued): Promise<{ status: number; code?: string }> {
  const r = await httpsGet(`${base}${path}`, { ca: pki.root.pem, cert: c.chainPem, key: c.keyPem, agent: false });
  const json = String(r.headers['content-type']).includes('json') ? JSON.parse(r.body) as { code?: string } : undefined;
  return { status: r.status, code: json?.code };
}

test('after the listener started, its client-ca and CRL files can vanish: requests are validated with what was loaded', async () => {
  rmSync(ca);
  rmSync(crl);
  // the watchers notice (the TLS context keeps its CA too); requests come after that
  await gw!.waitForLog((l) => l.msg === 'certificate reload refused; the previous certificates stay');
  assert.deepEqual(await call('/strict/x', pki.clientValid), { status: 200, code: undefined });
  assert.deepEqual(await call('/strict/x', pki.clientRevoked), { status: 403, code: 'client-certificate-revoked' });
  assert.deepEqual(await call('/no-dates/x', pki.clientExpired), { status: 200, code: undefined }, 'the loaded client-ca anchors the chain behind the date error');
  assert.deepEqual(await call('/strict/x', pki.clientOtherCa), { status: 403, code: 'client-certificate-untrusted' });
});
