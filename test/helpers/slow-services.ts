import { createServer as createNetServer, connect, type Server as NetServer, type Socket, type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestKey } from '../gateway/jwt/helpers.js';

/**
 * Real services that answer slowly, for tests that abort a request while the gateway waits on
 * one of them: a TCP proxy that delays every reply (put in front of Redis), an OpenID provider
 * whose discovery document and JWKS answer after a delay, and a throw-away TLS certificate.
 */

export interface DelayProxy {
  port: number;
  /** delay applied to every byte from the target back to the client (changeable at any time) */
  delayMs: number;
  /** bytes the clients sent to the target so far */
  upBytes: number;
  /** replies held back, not yet delivered */
  pending: number;
  /** resolves once no delayed reply is pending (bounded by `timeoutMs`) */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy to `target` that holds every reply chunk `delayMs` before passing it on, in order. */
export async function startDelayProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const proxy = { delayMs: 0, upBytes: 0, pending: 0 } as DelayProxy;
  const server: NetServer = createNetServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    let lastDelivery = 0;
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', () => { sockets.delete(client); upstream.destroy(); });
    upstream.on('close', () => { sockets.delete(upstream); client.destroy(); });
    client.on('data', (c: Buffer) => { proxy.upBytes += c.length; upstream.write(c); });
    upstream.on('data', (c: Buffer) => {
      if (proxy.delayMs <= 0 && proxy.pending === 0) { client.write(c); return; }
      // keep the order: a chunk never overtakes the one before it
      const at = Math.max(Date.now() + proxy.delayMs, lastDelivery);
      lastDelivery = at;
      proxy.pending++;
      const t = setTimeout(() => {
        timers.delete(t);
        proxy.pending--;
        if (!client.destroyed) client.write(c);
      }, at - Date.now());
      timers.add(t);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.drained = async (timeoutMs = 10_000) => {
    const end = Date.now() + timeoutMs;
    while (proxy.pending > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };
  proxy.close = () => new Promise<void>((r) => {
    for (const t of timers) clearTimeout(t);
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
  return proxy;
}

export interface SlowIdp {
  url: string;
  issuer: string;
  discoveryUrl: string;
  keys: TestKey[];
  discoveryDelayMs: number;
  jwksDelayMs: number;
  discoveryHits: number;
  jwksHits: number;
  /** requests received and not answered yet */
  inflight: number;
  /** resolves once no request is in flight (bounded by `timeoutMs`) */
  idle(timeoutMs?: number): Promise<void>;
  server: Server;
  close(): Promise<void>;
}

/** An OpenID provider stub (discovery + JWKS) whose answers can be delayed. */
export async function startSlowIdp(keys: TestKey[]): Promise<SlowIdp> {
  const timers = new Set<NodeJS.Timeout>();
  const idp = { keys, discoveryDelayMs: 0, jwksDelayMs: 0, discoveryHits: 0, jwksHits: 0, inflight: 0 } as SlowIdp;
  const later = (ms: number, fn: () => void) => {
    if (ms <= 0) { fn(); return; }
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };
  const server = createServer((req, res) => {
    idp.inflight++;
    let done = false;
    const answer = (status: number, body: unknown) => {
      if (done) return;
      done = true;
      idp.inflight--;
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    res.on('close', () => { if (!done) { done = true; idp.inflight--; } });
    if (req.url === '/.well-known/openid-configuration') {
      idp.discoveryHits++;
      later(idp.discoveryDelayMs, () => answer(200, { issuer: idp.issuer, jwks_uri: `${idp.url}/jwks` }));
    } else if (req.url === '/jwks') {
      idp.jwksHits++;
      later(idp.jwksDelayMs, () => answer(200, { keys: idp.keys.map((k) => k.jwk) }));
    } else {
      answer(404, {});
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  idp.server = server;
  idp.url = `http://127.0.0.1:${port}`;
  idp.issuer = idp.url;
  idp.discoveryUrl = `${idp.url}/.well-known/openid-configuration`;
  idp.idle = async (timeoutMs = 10_000) => {
    const end = Date.now() + timeoutMs;
    while (idp.inflight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };
  idp.close = () => new Promise<void>((r) => {
    for (const t of timers) clearTimeout(t);
    server.closeAllConnections();
    server.close(() => r());
  });
  return idp;
}

export interface SelfSigned { dir: string; cert: string; key: string; pem: string }

/** A self-signed P-256 certificate for `names` (files in a temp folder), made with openssl. */
export function selfSignedCert(names: string[]): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cert-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-keyout', key, '-out', cert,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { dir, cert, key, pem: readFileSync(cert, 'utf8') };
}
