import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import pino from 'pino';
import { admit, compileTrustedProxies, failed, mounted } from '../../src/identity/request.js';
import { clientIp } from '../../src/identity/client-ip.js';
import { DatabaseBusy } from '../../src/identity/db.js';

const ISSUER = new URL('https://id.example.com/auth');

/**
 * A server with the identity listener's request hygiene in front of a handler that echoes what a
 * page or oidc-provider would see: the client address, the headers, the path below the mount.
 */
async function hygieneServer(trusted: string[], fail?: unknown): Promise<{ server: Server; port: number }> {
  const matcher = compileTrustedProxies(trusted);
  const server = createServer((req, res) => {
    try {
      admit(req, res, ISSUER, matcher);
      const at = mounted(req, res, '/auth');
      if (!at) return;
      if (fail) throw fail;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ip: clientIp(req), headers: req.headers, at }));
    } catch (err) {
      failed(pino({ level: 'silent' }), req, res, err);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

/** GET with headers as given (several values of a header are sent as separate lines) */
function get(port: number, path: string, headers: Record<string, string | string[]> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const FORGED = {
  host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', 'x-forwarded-port': '81',
  'x-forwarded-prefix': '/evil', forwarded: 'for=203.0.113.66;host=evil.example', 'x-real-ip': '203.0.113.66',
};

describe('request hygiene of the identity listener', () => {
  const servers: Server[] = [];
  after(() => { for (const s of servers) { s.close(); s.closeAllConnections(); } });
  const start = async (trusted: string[], fail?: unknown) => {
    const s = await hygieneServer(trusted, fail);
    servers.push(s.server);
    return s.port;
  };

  test('from an untrusted address every forwarded header is dropped; host and scheme are the issuer\'s', async () => {
    const port = await start(['10.0.0.0/8']);
    const r = await get(port, '/auth/x?y=1', { ...FORGED, 'x-forwarded-for': '203.0.113.66' });
    const seen = JSON.parse(r.body);
    assert.equal(seen.ip, '127.0.0.1');
    assert.equal(seen.headers.host, 'id.example.com');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    for (const h of ['x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'forwarded', 'x-real-ip']) assert.equal(seen.headers[h], undefined, h);
    assert.deepEqual(seen.at, { path: '/x', query: '?y=1' });
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
  });

  test('behind a trusted proxy the client is the nearest untrusted hop, resolved as the gateway resolves it', async () => {
    const port = await start(['127.0.0.1/8', '10.0.0.0/8']);
    const cases: Array<[string | string[], string]> = [
      ['198.51.100.9', '198.51.100.9'],
      ['6.6.6.6, 198.51.100.9, 10.1.2.3', '198.51.100.9'], // a forged leftmost entry is not the client
      [['6.6.6.6', '198.51.100.9'], '198.51.100.9'], // several headers are one list, in order
      ['[2001:db8::9]:443', '2001:db8::9'],
      ['198.51.100.9, junk, 10.1.2.3', '10.1.2.3'], // garbage stops the walk at the last trusted hop
      ['10.1.2.3, 10.4.5.6', '10.1.2.3'], // every hop trusted: the leftmost
    ];
    for (const [xff, ip] of cases) {
      const seen = JSON.parse((await get(port, '/auth', { 'x-forwarded-for': xff })).body);
      assert.equal(seen.ip, ip, String(xff));
      assert.equal(seen.headers['x-forwarded-for'], ip, 'oidc-provider sees only the resolved address');
    }
  });

  test('outside the mount path: 404 with OAuth error JSON; the mount path itself is /', async () => {
    const port = await start([]);
    const out = await get(port, '/authx');
    assert.equal(out.status, 404);
    assert.deepEqual(JSON.parse(out.body), { error: 'not_found', error_description: 'the identity provider is at /auth' });
    assert.deepEqual(JSON.parse((await get(port, '/auth')).body).at, { path: '/', query: '' });
  });

  test('a failure is 500 without a stack; a locked database is 503 with Retry-After', async () => {
    const boom = await get(await start([], new Error('secret internals at /srv/x.ts:1')), '/auth/x');
    assert.equal(boom.status, 500);
    assert.deepEqual(JSON.parse(boom.body), { error: 'server_error', error_description: 'internal error' });
    const busy = await get(await start([], new DatabaseBusy()), '/auth/x');
    assert.equal(busy.status, 503);
    assert.equal(busy.headers['retry-after'], '1');
    assert.equal(JSON.parse(busy.body).error, 'temporarily_unavailable');
  });

  test('a trusted-proxies entry that is not an address or range stops the start, naming it', () => {
    assert.throws(() => compileTrustedProxies(['10.0.0.0/8', 'ten.zero/8']), /identity\.trusted-proxies: ten\.zero\/8 is not an address or CIDR range/);
    assert.throws(() => compileTrustedProxies(['10.0.0.0/33']), /10\.0\.0\.0\/33/);
  });
});
