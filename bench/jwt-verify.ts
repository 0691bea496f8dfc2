/**
 * Micro-benchmark: one JWT signature verification, jose (WebCrypto) vs node:crypto KeyObject
 * (the path src/gateway/jwt/token.ts uses), for RS256 and ES256. Prints µs per verification.
 *
 *   node dist/bench/jwt-verify.js
 */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { importJWK, jwtVerify } from 'jose';
import { parseToken, verifySignature } from '../src/gateway/jwt/token.js';
import { keyFromJwk } from '../src/gateway/jwt/keys.js';
import { DEFAULT_ALGORITHMS } from '../src/gateway/jwt/algorithms.js';

function makeToken(alg: 'RS256' | 'ES256', privateKey: KeyObject): string {
  const now = Math.floor(Date.now() / 1000);
  const h = Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid: 'k1' })).toString('base64url');
  const p = Buffer.from(JSON.stringify({ iss: 'https://idp.example', aud: 'api://orders', sub: 'user-1', scp: 'orders.read', iat: now, exp: now + 3600 })).toString('base64url');
  const input = `${h}.${p}`;
  const sig = cryptoSign(alg === 'RS256' ? 'sha256' : 'sha256', Buffer.from(input), alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

async function timeIt(fn: () => unknown | Promise<unknown>, minMs = 700): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (elapsed * 1000) / n;
}

export async function runJwtVerifyBench(): Promise<string> {
  const rows: string[] = ['| algorithm | jose jwtVerify (µs) | node:crypto parse+verify (µs) | ratio |', '|---|---:|---:|---:|'];
  const allowed = new Set(DEFAULT_ALGORITHMS);
  for (const alg of ['RS256', 'ES256'] as const) {
    const { publicKey, privateKey } = alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = makeToken(alg, privateKey);
    const jwk = publicKey.export({ format: 'jwk' });
    const joseKey = await importJWK({ ...jwk, alg }, alg);
    const ours = keyFromJwk({ ...jwk, kid: 'k1' });
    const joseUs = await timeIt(() => jwtVerify(token, joseKey, { algorithms: [alg], audience: 'api://orders', issuer: 'https://idp.example' }));
    const nodeUs = await timeIt(() => {
      const t = parseToken(token, allowed);
      if ('code' in t || !verifySignature(t, ours)) throw new Error('bench token did not verify');
    });
    rows.push(`| ${alg} | ${joseUs.toFixed(1)} | ${nodeUs.toFixed(1)} | ${(joseUs / nodeUs).toFixed(2)}× |`);
  }
  return rows.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runJwtVerifyBench().then((t) => console.log(t));
}
