/**
 * Test helpers for tokens: key pairs, a signer that can produce any header/payload/signature
 * (including hostile ones), and a real HTTP identity-provider stub serving discovery + JWKS.
 */
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** public JWK with kid, alg, use */
  jwk: Record<string, unknown>;
  /** SPKI PEM of the public key */
  pem: string;
}

export function makeKey(alg: 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'RS1024', kid: string): TestKey {
  let pair: { publicKey: KeyObject; privateKey: KeyObject };
  if (alg === 'RS256' || alg === 'PS256') pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (alg === 'RS1024') pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
  else if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519');
  else pair = generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : alg === 'ES384' ? 'P-384' : 'P-521' });
  const realAlg = alg === 'RS1024' ? 'RS256' : alg;
  return {
    kid, alg: realAlg, ...pair,
    jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg: realAlg, use: 'sig' },
    pem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

const HASH: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** Sign `header.payload` with a private key or an HMAC secret per `header.alg`. */
export function signRaw(header: Record<string, unknown>, payload: unknown, key: KeyObject | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = String(header.alg);
  const hash = HASH[alg.slice(2)] ?? 'sha256';
  let sig: Buffer;
  if (alg.startsWith('HS')) sig = createHmac(hash, key as Buffer).update(input).digest();
  else if (alg.startsWith('ES')) sig = cryptoSign(hash, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  else if (alg.startsWith('PS')) sig = cryptoSign(hash, Buffer.from(input), { key: key as KeyObject, padding: 6, saltLength: Number(alg.slice(2)) / 8 });
  else if (alg === 'EdDSA') sig = cryptoSign(null, Buffer.from(input), key as KeyObject);
  else sig = cryptoSign(hash, Buffer.from(input), key as KeyObject);
  return `${input}.${sig.toString('base64url')}`;
}

export const now = () => Math.floor(Date.now() / 1000);

/** A well-formed token for `key` with standard claims; `claims` and `header` override. */
export function token(key: TestKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  return signRaw({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header }, { sub: 'user-1', iat: now(), exp: now() + 600, ...claims }, key.privateKey);
}

/** An unsigned token: header with alg as given, empty signature. */
export function unsigned(alg: string, claims: Record<string, unknown>): string {
  return `${b64({ alg, typ: 'JWT' })}.${b64(claims)}.`;
}

export { b64 };

export interface Idp {
  url: string;
  issuer: string;
  discoveryUrl: string;
  /** the keys the JWKS serves (mutable) */
  keys: TestKey[];
  /** 'ok' | 'down' (500) | 'garbage' (not JSON) | 'empty' ({keys: []}) */
  mode: 'ok' | 'down' | 'garbage' | 'empty' | 'hang';
  /** JWKS and discovery request counts */
  jwksHits: number;
  discoveryHits: number;
  /** extra headers on JWKS responses */
  jwksHeaders: Record<string, string>;
  /** override of the discovery document */
  discovery?: Record<string, unknown>;
  server: Server;
  close(): Promise<void>;
}

/** A real HTTP identity-provider stub on 127.0.0.1: /.well-known/openid-configuration and /jwks. */
export async function startIdp(keys: TestKey[] = [], path = ''): Promise<Idp> {
  const idp = { keys, mode: 'ok', jwksHits: 0, discoveryHits: 0, jwksHeaders: {} } as unknown as Idp;
  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
  const server = createServer((req, res) => {
    if (req.url === `${path}/.well-known/openid-configuration`) {
      idp.discoveryHits++;
      return send(res, 200, JSON.stringify(idp.discovery ?? { issuer: idp.issuer, jwks_uri: `${idp.url}${path}/jwks` }));
    }
    if (req.url === `${path}/jwks`) {
      idp.jwksHits++;
      if (idp.mode === 'hang') return; // never answers
      if (idp.mode === 'down') return send(res, 503, '{"error":"down"}');
      if (idp.mode === 'garbage') return send(res, 200, '<html>not json', idp.jwksHeaders);
      if (idp.mode === 'empty') return send(res, 200, '{"keys":[]}', idp.jwksHeaders);
      return send(res, 200, JSON.stringify({ keys: idp.keys.map((k) => k.jwk) }), idp.jwksHeaders);
    }
    send(res, 404, '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  idp.server = server;
  idp.url = `http://127.0.0.1:${port}`;
  idp.issuer = `${idp.url}${path}`;
  idp.discoveryUrl = `${idp.url}${path}/.well-known/openid-configuration`;
  idp.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return idp;
}

/** Poll `pred` until true (or throw after `ms`). For waiting on background work, not for timing assertions. */
export async function eventually(pred: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
