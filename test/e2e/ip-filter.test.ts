/**
 * ip-filter through the real gateway: IPv4, IPv6, CIDR, ranges, and X-Forwarded-For spoofing from
 * an untrusted peer (ignored) and from a trusted proxy (believed). Loopback aliases stand in for
 * the internet: 127.0.0.2 is the trusted proxy, 127.0.0.1 / 127.0.0.3 / ::1 are clients.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { send } from '../gateway/jwt/http-client.js';

let gw: RunningGateway;
let backend: TestBackend;
let v4url: string;
let v6url: string;

before(async () => {
  backend = await startBackend();
  gw = await startGateway(`
gateway: { listen: { http: 0, host: "::" }, admin: { listen: 0 }, trusted-proxies: [127.0.0.2/32] }
backends: { echo: { url: "${backend.url}" } }
apis:
  - name: allow-v4
    path: /allow-v4
    backend: echo
    policies:
      inbound:
        - ip-filter: { action: allow, addresses: [127.0.0.1, 198.51.100.0/24], address-ranges: [{ from: 203.0.113.10, to: 203.0.113.20 }] }
  - name: forbid
    path: /forbid
    backend: echo
    policies:
      inbound:
        - ip-filter: { action: forbid, addresses: [127.0.0.3, "2001:db8::/32"] }
  - name: allow-v6
    path: /allow-v6
    backend: echo
    policies:
      inbound:
        - ip-filter: { action: allow, addresses: ["::1", "2001:db8:1::/48"], address-ranges: [{ from: "2001:db8:2::10", to: "2001:db8:2::20" }] }
`);
  v4url = `http://127.0.0.1:${gw.port}`;
  v6url = `http://[::1]:${gw.port}`;
});

after(async () => {
  await gw?.stop();
  await backend?.close();
});

async function expect(name: string, url: string, path: string, status: number, opts: { from?: string; xff?: string[] } = {}) {
  const before = backend.requests.length;
  const headers: Array<[string, string]> = (opts.xff ?? []).map((v) => ['X-Forwarded-For', v]);
  const r = await send(url, path, headers, 'GET', { localAddress: opts.from });
  assert.equal(r.status, status, `${name}: ${r.body.slice(0, 200)}`);
  if (status === 403) {
    assert.equal(r.json?.code, 'caller-ip-not-allowed', name);
    assert.equal(backend.requests.length, before, `${name}: the backend must receive nothing`);
  } else {
    assert.equal(backend.requests.length, before + 1, name);
  }
}

test('IPv4: an allowed socket address passes, another is refused', async () => {
  await expect('127.0.0.1 allowed', v4url, '/allow-v4/x', 200, { from: '127.0.0.1' });
  await expect('127.0.0.3 not listed', v4url, '/allow-v4/x', 403, { from: '127.0.0.3' });
  await expect('forbid 127.0.0.3', v4url, '/forbid/x', 403, { from: '127.0.0.3' });
  await expect('forbid list does not hit 127.0.0.1', v4url, '/forbid/x', 200, { from: '127.0.0.1' });
});

test('IPv6: ::1 matches IPv6 entries only; IPv4-mapped sockets match IPv4 entries', async () => {
  await expect('::1 allowed', v6url, '/allow-v6/x', 200, { from: '::1' });
  await expect('::1 not in the IPv4 list', v6url, '/allow-v4/x', 403, { from: '::1' });
  // on a dual-stack listener the IPv4 client arrives as ::ffff:127.0.0.1 and is normalized
  await expect('mapped 127.0.0.1', v4url, '/allow-v4/x', 200, { from: '127.0.0.1' });
});

test('X-Forwarded-For from an untrusted peer is ignored (spoofing does not pass)', async () => {
  await expect('spoofed allowed address', v4url, '/allow-v4/x', 403, { from: '127.0.0.3', xff: ['198.51.100.7'] });
  await expect('spoofed trusted-proxy chain', v4url, '/allow-v4/x', 403, { from: '127.0.0.3', xff: ['198.51.100.7, 127.0.0.2'] });
  await expect('spoofed innocent address to dodge forbid', v4url, '/forbid/x', 403, { from: '127.0.0.3', xff: ['192.0.2.1'] });
});

test('X-Forwarded-For from a trusted proxy is used: the nearest untrusted hop is the client', async () => {
  await expect('CIDR match', v4url, '/allow-v4/x', 200, { from: '127.0.0.2', xff: ['198.51.100.7'] });
  await expect('range match', v4url, '/allow-v4/x', 200, { from: '127.0.0.2', xff: ['203.0.113.15'] });
  await expect('outside the range', v4url, '/allow-v4/x', 403, { from: '127.0.0.2', xff: ['203.0.113.21'] });
  // the client prepends an allowed address; the proxy appended the real one
  await expect('client-chosen leftmost entry ignored', v4url, '/allow-v4/x', 403, { from: '127.0.0.2', xff: ['198.51.100.7, 192.0.2.99'] });
  await expect('several XFF headers are one list', v4url, '/allow-v4/x', 403, { from: '127.0.0.2', xff: ['198.51.100.7', '192.0.2.99'] });
  await expect('forbidden IPv6 behind the proxy', v4url, '/forbid/x', 403, { from: '127.0.0.2', xff: ['2001:db8::1'] });
  await expect('allowed IPv6 behind the proxy', v4url, '/allow-v6/x', 200, { from: '127.0.0.2', xff: ['2001:db8:1::99'] });
  await expect('IPv6 range behind the proxy', v4url, '/allow-v6/x', 200, { from: '127.0.0.2', xff: ['2001:db8:2::1a'] });
  await expect('IPv6 outside the range', v4url, '/allow-v6/x', 403, { from: '127.0.0.2', xff: ['2001:db8:2::21'] });
});

test('garbage in X-Forwarded-For stops the walk at the proxy', async () => {
  await expect('garbage hop', v4url, '/allow-v4/x', 403, { from: '127.0.0.2', xff: ['198.51.100.7, not-an-ip'] });
  await expect('garbage only: the proxy itself is the client', v4url, '/forbid/x', 200, { from: '127.0.0.2', xff: ['unknown'] });
  await expect('garbage cannot hide a forbidden hop nearer the proxy', v4url, '/forbid/x', 403, { from: '127.0.0.2', xff: ['junk, 2001:db8::5'] });
});
