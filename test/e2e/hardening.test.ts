import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { request as httpRequest } from 'node:http';
import { startSupervisedGateway, type SupervisedGateway } from '../helpers/supervised.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { selfSignedCert, type SelfSigned } from '../helpers/slow-services.js';
import { connectRawH2, headersFrame, hpack, rstStreamFrame, type RawH2 } from '../helpers/h2-frames.js';
import { getOnce, hasCompleteResponse } from '../helpers/bounded.js';
import { parseResponses, sleep } from '../helpers/raw.js';
import { makeKey, token, type TestKey } from '../gateway/jwt/helpers.js';

/**
 * Regression tests for the gateway hardening findings that can be seen from outside: HTTP/2
 * rapid reset, slow uploads holding a backend pool, connections that never send a request,
 * set-header values a client could forge or split, HTTP/2 bodies without content-length,
 * underscore header aliases and spoofable client-IP / URL headers. Every wait is bounded.
 */

const HOST = 'gw.test';
/** slack on top of a configured timeout before a close counts as missing (timer granularity, a busy machine) */
const SLACK_MS = 4000;

let cert: SelfSigned;
before(() => { cert = selfSignedCert([HOST]); });

function h2Session(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`https://127.0.0.1:${port}`, { ca: cert.pem, servername: HOST });
    const t = setTimeout(() => { s.destroy(); reject(new Error('HTTP/2 connect timed out')); }, 10_000);
    s.once('connect', () => { clearTimeout(t); s.on('error', () => {}); resolve(s); });
    s.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

/** One HTTP/2 request with an optional streamed body (no content-length unless given), bounded. */
function h2Call(session: ClientHttp2Session, headers: Record<string, string>, body: Buffer[] = [], timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':authority': HOST, ...headers }, { endStream: body.length === 0 });
    const chunks: Buffer[] = [];
    let status = 0;
    const t = setTimeout(() => { s.close(); reject(new Error(`no HTTP/2 answer within ${timeoutMs} ms`)); }, timeoutMs);
    s.on('response', (h) => { status = Number(h[':status']); });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => { clearTimeout(t); resolve({ status, body: Buffer.concat(chunks).toString() }); });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    for (const b of body) s.write(b);
    if (body.length) s.end();
  });
}

/** An HTTP/1.1 request with exact header lines (names as given, duplicates kept), bounded. */
function h1Call(port: number, path: string, headers: Array<[string, string]>, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const flat: string[] = ['Host', HOST];
  for (const [k, v] of headers) flat.push(k, v);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: flat, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { clearTimeout(t); resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }); });
    });
    const t = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => { clearTimeout(t); reject(e); });
    req.end();
  });
}

const seenWith = (backend: TestBackend, marker: string) => backend.requests.filter((r) => r.url.includes(marker));

// ---------------------------------------------------------------------------------------------
describe('one gateway: HTTP/2 rapid reset, bodies, headers a client must not control', () => {
  let gw: SupervisedGateway;
  let backend: TestBackend;
  let key: TestKey;
  before(async () => {
    key = makeKey('ES256', 'hardening');
    backend = await startBackend();
    gw = await startSupervisedGateway(`
gateway:
  listen:
    host: 127.0.0.1
    http: 0
    https: { port: 0, certificates: [{ cert: "${cert.cert}", key: "${cert.key}" }] }
  admin: { listen: 0 }
  log: { level: warn, access: false }
backends:
  echo: { url: "${backend.url}" }
apis:
  - name: tenant
    path: /tenant
    backend: echo
    policies:
      inbound:
        - validate-jwt:
            issuer-signing-keys: [{ jwk: ${JSON.stringify(key.jwk)} }]
            forward-claims: { sub: X-User-Id }
        - set-header: { name: X-Tenant, value: "{jwt.tenant}" }
  - name: plain
    path: /
    backend: echo
`, { waitFor: ['http', 'https', 'admin'] });
  });
  after(async () => {
    await gw?.stop();
    await backend?.close();
  });

  it('HTTP/2 rapid reset: cancelled streams never reach the backend, the abusive connections get GOAWAY, a new connection is served at once', { timeout: 60_000 }, async () => {
    const CONNECTIONS = 4;
    const PAIRS = 900;
    const conns: RawH2[] = [];
    try {
      for (let c = 0; c < CONNECTIONS; c++) conns.push(await connectRawH2(gw.ports.https!, { servername: HOST, ca: cert.pem }));
      await Promise.all(conns.map(async (conn, c) => {
        for (let i = 0; i < PAIRS; i += 100) {
          const batch: Buffer[] = [];
          for (let j = i; j < Math.min(PAIRS, i + 100); j++) {
            const stream = 2 * j + 1;
            batch.push(headersFrame(stream, hpack([[':method', 'GET'], [':scheme', 'https'], [':authority', HOST], [':path', `/rapid/${c}/${j}`]]), { endStream: true }));
            batch.push(rstStreamFrame(stream));
          }
          // the gateway may close an abusive connection at any point: then stop writing to it
          if (conn.socket.destroyed) break;
          if (!conn.write(Buffer.concat(batch))) {
            await new Promise((r) => { conn.socket.once('drain', r); conn.socket.once('close', r); });
          }
          await new Promise((r) => setImmediate(r));
        }
      }));
      // a normal request on a new connection, while the gateway deals with the attack
      const problems: string[] = [];
      const session = await h2Session(gw.ports.https!);
      try {
        const t0 = Date.now();
        const r = await h2Call(session, { ':path': '/normal-after-rapid-reset' }, [], 3000).catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status !== 200) problems.push(`a normal request on a new connection: ${r.status || 'no answer'} after ${Date.now() - t0} ms (${r.body})`);
      } finally {
        session.destroy();
      }
      const withGoaway = await Promise.all(conns.map((conn) => conn.waitFrame((f) => f.type === 7, 5000).then((f) => f !== undefined)));
      if (withGoaway.some((x) => !x)) problems.push(`${withGoaway.filter((x) => !x).length} of ${CONNECTIONS} connections got no GOAWAY after ${PAIRS} HEADERS+RST_STREAM pairs`);
      await sleep(1000); // stragglers
      const forwarded = backend.requests.filter((r) => r.url.startsWith('/rapid/')).length;
      if (forwarded > 0) problems.push(`${forwarded} of ${CONNECTIONS * PAIRS} cancelled requests reached the backend`);
      assert.deepEqual(problems, []);
      assert.ok(gw.alive(), gw.describe());
    } finally {
      for (const c of conns) c.destroy();
    }
  });

  it('HTTP/2 POST, PUT and PATCH with DATA frames and no content-length deliver their body to the backend', async () => {
    const session = await h2Session(gw.ports.https!);
    try {
      for (const method of ['POST', 'PUT', 'PATCH']) {
        const parts = [Buffer.from(`${method}-part-one;`), Buffer.alloc(20_000, 0x61), Buffer.from(';part-three')];
        const r = await h2Call(session, { ':method': method, ':path': `/h2-body/${method}`, 'content-type': 'application/octet-stream' }, parts);
        assert.equal(r.status, 200, r.body);
        const got = seenWith(backend, `/h2-body/${method}`);
        assert.equal(got.length, 1);
        assert.equal(got[0]!.body.length, Buffer.concat(parts).length, `${method}: the backend received ${got[0]!.body.length} of ${Buffer.concat(parts).length} body bytes`);
        assert.ok(got[0]!.body.equals(Buffer.concat(parts)));
      }
    } finally {
      session.destroy();
    }
  });

  describe('set-header with a claim template owns its header', () => {
    const call = async (claims: Record<string, unknown>, marker: string) => {
      const t = token(key, { sub: 'user-7', ...claims });
      const r = await h1Call(gw.port, `/tenant/${marker}`, [['Authorization', `Bearer ${t}`], ['X-Tenant', 'victim-tenant']]);
      assert.equal(r.status, 200, r.body);
      const got = seenWith(backend, `/${marker}`);
      assert.equal(got.length, 1);
      const raw = got[0]!.rawHeaders;
      // every X-Tenant field line the backend received, as sent
      return raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'x-tenant' ? [raw[i + 1]!] : []));
    };

    for (const [what, claims] of [['has no tenant claim', {}], ['has an empty tenant claim', { tenant: '' }], ['has a null tenant claim', { tenant: null }]] as const) {
      it(`removes the client's X-Tenant when the token ${what}`, async () => {
        const values = await call(claims, `tenant-missing-${what.replace(/\W+/g, '-')}`);
        assert.ok(!values.includes('victim-tenant'), `the client's own X-Tenant reached the backend: ${JSON.stringify(values)}`);
      });
    }

    it('replaces the client\'s X-Tenant with the claim', async () => {
      assert.deepEqual(await call({ tenant: 'acme' }, 'tenant-acme'), ['acme']);
    });

    it('sends a claim value containing "," as one header value that no list parser splits', async () => {
      const values = await call({ tenant: 'acme,victim-tenant' }, 'tenant-comma');
      assert.equal(values.length, 1, `one X-Tenant field line: ${JSON.stringify(values)}`);
      assert.ok(!values[0]!.includes(','), `the value would split into two list members: ${JSON.stringify(values[0])}`);
      assert.equal(decodeURIComponent(values[0]!), 'acme,victim-tenant');
    });
  });

  describe('underscore header aliases', () => {
    const userHeaders = (raw: string[]) => raw.filter((v, i) => i % 2 === 0 && /user.?id/i.test(v));

    it('does not forward X_User_Id beside the X-User-Id it sets (HTTP/1.1)', async () => {
      const t = token(key, { sub: 'user-7', tenant: 'acme' });
      const r = await h1Call(gw.port, '/tenant/underscore-h1', [['Authorization', `Bearer ${t}`], ['X_User_Id', 'admin']]);
      const got = seenWith(backend, '/underscore-h1');
      if (r.status === 400) { assert.equal(got.length, 0, 'a refused request is not forwarded'); return; }
      assert.equal(r.status, 200, r.body);
      assert.equal(got.length, 1);
      assert.deepEqual(userHeaders(got[0]!.rawHeaders), ['x-user-id'], `user-id headers at the backend: ${JSON.stringify(got[0]!.rawHeaders)}`);
      assert.equal(got[0]!.headers['x-user-id'], 'user-7');
      assert.ok(!got[0]!.rawHeaders.some((v, i) => i % 2 === 0 && v.includes('_')), 'no header name with "_" is forwarded');
    });

    it('does not forward X_User_Id beside the X-User-Id it sets (HTTP/2)', async () => {
      const session = await h2Session(gw.ports.https!);
      try {
        const t = token(key, { sub: 'user-7', tenant: 'acme' });
        const r = await h2Call(session, { ':path': '/tenant/underscore-h2', authorization: `Bearer ${t}`, x_user_id: 'admin' });
        const got = seenWith(backend, '/underscore-h2');
        if (r.status === 400) { assert.equal(got.length, 0, 'a refused request is not forwarded'); return; }
        assert.equal(r.status, 200, r.body);
        assert.equal(got.length, 1);
        assert.deepEqual(userHeaders(got[0]!.rawHeaders), ['x-user-id'], `user-id headers at the backend: ${JSON.stringify(got[0]!.rawHeaders)}`);
        assert.ok(!got[0]!.rawHeaders.some((v, i) => i % 2 === 0 && v.includes('_')), 'no header name with "_" is forwarded');
      } finally {
        session.destroy();
      }
    });
  });

  it('does not forward client-IP and URL headers from an untrusted peer as sent', async () => {
    const spoofed: Array<[string, string]> = [
      ['X-Real-IP', '6.6.6.6'], ['True-Client-IP', '6.6.6.6'], ['X-Client-IP', '6.6.6.6'],
      ['X-Forwarded-Port', '1234'], ['X-Forwarded-Prefix', '/evil'], ['X-Original-URL', '/admin'],
    ];
    const r = await h1Call(gw.port, '/spoof/x', spoofed);
    assert.equal(r.status, 200, r.body);
    const got = seenWith(backend, '/spoof/x');
    assert.equal(got.length, 1);
    const leaked = spoofed.filter(([name, value]) => {
      const v = got[0]!.headers[name.toLowerCase()];
      return v !== undefined && (Array.isArray(v) ? v : [v]).some((x) => x.split(',').map((s) => s.trim()).includes(value));
    });
    assert.deepEqual(leaked.map(([n, v]) => `${n}: ${v}`), [], 'spoofed headers reached the backend unchanged');
  });
});

// ---------------------------------------------------------------------------------------------
describe('connections that never send a request', () => {
  const HEADER_TIMEOUT_S = 1;
  const MAX = 4;
  let gw: SupervisedGateway;
  let backend: TestBackend;
  const open = new Set<Socket>();
  before(async () => {
    backend = await startBackend();
    gw = await startSupervisedGateway(`
gateway:
  listen:
    host: 127.0.0.1
    http: 0
    https: { port: 0, certificates: [{ cert: "${cert.cert}", key: "${cert.key}" }] }
  admin: { listen: 0 }
  log: { level: warn, access: false }
  limits:
    header-timeout: ${HEADER_TIMEOUT_S}s
    keep-alive-timeout: 5s
    max-connections: ${MAX}
backends:
  echo: { url: "${backend.url}" }
apis:
  - { name: plain, path: /, backend: echo }
`, { waitFor: ['http', 'https', 'admin'] });
  });
  after(async () => {
    for (const s of open) s.destroy();
    await gw?.stop();
    await backend?.close();
  });

  /** A TCP connection that keeps its side open whatever the server does (it ignores a FIN). */
  function stubborn(port: number, first?: string): Promise<{ socket: Socket; ended: Promise<boolean> }> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
      open.add(socket);
      socket.on('error', () => {});
      socket.on('data', () => {});
      const ended = new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), HEADER_TIMEOUT_S * 1000 + SLACK_MS);
        socket.once('end', () => { clearTimeout(t); r(true); });
        socket.once('close', () => { clearTimeout(t); r(true); });
      });
      socket.once('connect', () => { if (first) socket.write(first); resolve({ socket, ended }); });
      socket.once('error', reject);
    });
  }

  async function assertSlotsFreed(what: string, port: number, first?: string): Promise<void> {
    const conns = [];
    for (let i = 0; i < MAX; i++) conns.push(await stubborn(port, first));
    const closed = await Promise.all(conns.map((c) => c.ended));
    assert.deepEqual(closed, conns.map(() => true), `${what}: every connection is closed after header-timeout (${HEADER_TIMEOUT_S} s)`);
    // the clients still hold their side open: only a server that destroyed the sockets has free slots
    await sleep(500);
    const r = await getOnce(`${gw.url}/after-idle`, 5000, { host: HOST }).catch((e: Error) => ({ status: 0, body: e.message }));
    for (const c of conns) { c.socket.destroy(); open.delete(c.socket); }
    assert.equal(r.status, 200, `${what}: ${MAX} such connections lock everyone out (max-connections ${MAX}): ${r.body}`);
  }

  it('closes plain TCP connections that never send a byte, and they do not use up max-connections', { timeout: 30_000 }, async () => {
    await assertSlotsFreed('silent plain connections', gw.port);
  });

  it('destroys (not only half-closes) a connection whose headers did not arrive in time, even if the client ignores the FIN', { timeout: 30_000 }, async () => {
    await assertSlotsFreed('partial headers, FIN ignored', gw.port, `GET /slow HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `);
  });

  it('closes TCP connections to the HTTPS listener that never start the TLS handshake', { timeout: 30_000 }, async () => {
    const conns = [];
    for (let i = 0; i < MAX; i++) conns.push(await stubborn(gw.ports.https!));
    const closed = await Promise.all(conns.map((c) => c.ended));
    for (const c of conns) { c.socket.destroy(); open.delete(c.socket); }
    assert.deepEqual(closed, conns.map(() => true), `no handshake: closed after header-timeout (${HEADER_TIMEOUT_S} s)`);
  });

  it('closes a TLS connection that completed the handshake but sends no request', { timeout: 30_000 }, async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: gw.ports.https!, servername: HOST, ca: cert.pem, ALPNProtocols: ['http/1.1'] });
      s.on('error', () => {});
      const t = setTimeout(() => { s.destroy(); resolve(false); }, HEADER_TIMEOUT_S * 1000 + SLACK_MS);
      s.once('end', () => { clearTimeout(t); s.destroy(); resolve(true); });
      s.once('close', () => { clearTimeout(t); resolve(true); });
    });
    assert.ok(closed, `a silent TLS connection is closed after header-timeout (${HEADER_TIMEOUT_S} s)`);
  });

  it('closes an HTTP/2 session that never opens a stream after header-timeout', { timeout: 30_000 }, async () => {
    const session = await h2Session(gw.ports.https!);
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), HEADER_TIMEOUT_S * 1000 + SLACK_MS);
      session.once('goaway', () => { clearTimeout(t); resolve(true); });
      session.once('close', () => { clearTimeout(t); resolve(true); });
    });
    session.destroy();
    assert.ok(closed, `an HTTP/2 session without a stream is closed after header-timeout (${HEADER_TIMEOUT_S} s)`);
  });

  it('still serves after all of the above', async () => {
    assert.ok(gw.alive(), gw.describe());
    const r = await getOnce(`${gw.url}/still`, 5000, { host: HOST });
    assert.equal(r.status, 200);
  });
});

// ---------------------------------------------------------------------------------------------
describe('slow uploads and a small backend pool', () => {
  /** how long the gateway may take to answer a request that waits for a pool connection */
  const QUEUE_BOUND_MS = 10_000;
  /** how long a trickling upload may last before the minimum data rate must have cut it */
  const RATE_BOUND_MS = Number(process.env.GATEHOUSE_MIN_RATE_BOUND_MS ?? 40_000);
  const UPLOADS = 6;
  let gw: SupervisedGateway;
  let backend: TestBackend;
  const sockets = new Set<Socket>();
  before(async () => {
    backend = await startBackend();
    gw = await startSupervisedGateway(`
gateway:
  listen: { host: 127.0.0.1, http: 0 }
  admin: { listen: 0 }
  log: { level: warn, access: false }
  limits:
    request-timeout: 60s
backends:
  small: { url: "${backend.url}", connections: 2 }
apis:
  - { name: pool, path: /, backend: small }
`);
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await gw?.stop();
    await backend?.close();
  });

  it('answers other requests to the backend (served, or 503 upstream-overloaded) while slow uploads hold its connections, and cuts uploads below the minimum data rate with 408', { timeout: RATE_BOUND_MS + QUEUE_BOUND_MS + 30_000 }, async () => {
    const uploads = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => new Promise<{ socket: Socket; got: Buffer[]; done: () => boolean }>((resolve, reject) => {
      const socket = netConnect({ port: gw.port, host: '127.0.0.1' });
      sockets.add(socket);
      const got: Buffer[] = [];
      let closed = false;
      socket.on('data', (c: Buffer) => got.push(c));
      socket.on('close', () => { closed = true; });
      socket.on('error', () => {});
      socket.once('connect', () => {
        socket.write(`POST /upload-${i} HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n`);
        resolve({ socket, got, done: () => closed || hasCompleteResponse(Buffer.concat(got)) });
      });
      socket.once('error', reject);
    })));
    // one byte every 500 ms: far below any sane minimum rate
    const trickle = setInterval(() => { for (const u of uploads) if (!u.done()) u.socket.write('1\r\nx\r\n'); }, 500);
    try {
      await sleep(1500); // the uploads hold both pool connections (and queue behind them)
      const t0 = Date.now();
      const r = await getOnce(`${gw.url}/normal`, QUEUE_BOUND_MS, { host: HOST }).catch((e: Error) => ({ status: 0, body: e.message }));
      assert.ok(r.status === 200 || r.status === 503, `a normal request to a backend whose pool is held by slow uploads: ${r.status} ${r.body} after ${Date.now() - t0} ms`);
      if (r.status === 503) assert.match(r.body, /upstream-overloaded/);
      const end = Date.now() + RATE_BOUND_MS;
      while (Date.now() < end && !uploads.every((u) => u.done())) await sleep(200);
      const statuses = uploads.map((u) => parseResponses(Buffer.concat(u.got))[0]?.status ?? (u.done() ? 'closed' : 'still open'));
      // an upload that got one of the backend's connections is cut with 408 (body-too-slow); one
      // that waited in the backend's queue meanwhile may instead be answered 503 upstream-overloaded
      // at the queue timeout: either way it is answered within the bound and holds nothing
      assert.ok(statuses.every((st) => st === 408 || st === 503), `uploads trickling 2 bytes/s are answered (408, or 503 from the queue) within ${RATE_BOUND_MS / 1000} s: ${statuses.join(', ')}`);
      assert.ok(statuses.filter((st) => st === 408).length >= 2, `the uploads holding the pool's two connections are cut with 408: ${statuses.join(', ')}`);
      assert.ok(gw.alive(), gw.describe());
    } finally {
      clearInterval(trickle);
      for (const u of uploads) u.socket.destroy();
    }
  });
});
