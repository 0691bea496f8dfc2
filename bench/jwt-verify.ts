import { testExchange } from '../test/helpers/exchange.js';
import { policyContext } from '../test/helpers/policy-context.js';
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
import { Exchange } from '../src/gateway/exchange.js';
import type { Handler, PolicyContext } from '../src/gateway/policy.js';
import { validateJwt } from '../src/gateway/policies/validate-jwt.js';
import { checkClaims } from '../src/gateway/policies/check-claims.js';
import { ipFilter } from '../src/gateway/policies/ip-filter.js';

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

function benchContext(claimsAvailable: boolean): PolicyContext {
  return policyContext({ configDir: process.cwd(), location: 'bench', api: { name: 'bench', prefix: '' }, claimsAvailable });
}

function benchExchange(authorization: string, clientIp = '127.0.0.1'): Exchange {
  return testExchange({ headers: { host: 'bench', authorization, accept: '*/*', 'user-agent': 'autocannon' }, path: '/orders/7', clientIp });
}

/**
 * The policy chain's own cost per request, in-process (no sockets): ip-filter (1,000 entries) +
 * validate-jwt (RS256 / ES256, cache hit and cache miss) + check-claims.
 */
export async function runJwtChainBench(): Promise<string> {
  const rows: string[] = ['| chain (in-process, per request) | µs |', '|---|---:|'];
  const ipList = Array.from({ length: 999 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`).concat(['127.0.0.1']);
  const ip = await ipFilter.create(ipFilter.schema.parse({ action: 'allow', addresses: ipList }), benchContext(false)) as Handler;
  const claims = await checkClaims.create(checkClaims.schema.parse({ 'required-claims': [{ name: 'scp', match: 'any', separator: ' ', values: ['orders.read'] }] }), benchContext(true)) as Handler;
  for (const alg of ['RS256', 'ES256'] as const) {
    const { publicKey, privateKey } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1' };
    for (const cached of [true, false]) {
      const raw = { 'issuer-signing-keys': [{ jwk }], issuers: ['https://idp.example'], audiences: ['api://orders'], ...(cached ? {} : { 'token-cache': { 'max-entries': 0 } }) };
      const jwt = await validateJwt.create(validateJwt.schema.parse(raw), benchContext(false)) as Handler;
      const ex = benchExchange(`Bearer ${makeToken(alg, privateKey)}`);
      const us = await timeIt(() => {
        if (ip(ex) !== undefined || jwt(ex) !== undefined || claims(ex) !== undefined) throw new Error('bench request refused');
      });
      rows.push(`| ip-filter 1,000 + validate-jwt ${alg} ${cached ? '(cache hit)' : '(cache miss)'} + check-claims | ${us.toFixed(2)} |`);
    }
  }
  const ex = benchExchange('Bearer x');
  rows.push(`| ip-filter 1,000 alone | ${(await timeIt(() => ip(ex))).toFixed(2)} |`);
  // matching cost does not grow with the list: 10 vs 10,000 entries (IPv4 and IPv6 callers, miss = full search)
  for (const n of [10, 10000]) {
    const list = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}` : `2001:db8:${i.toString(16)}::/48`));
    const f = await ipFilter.create(ipFilter.schema.parse({ action: 'forbid', addresses: list }), benchContext(false)) as Handler;
    const e4 = benchExchange('x', '192.0.2.1');
    const e6 = benchExchange('x', '2001:db9::1');
    rows.push(`| ip-filter ${n.toLocaleString('en')} entries, IPv4 caller / IPv6 caller | ${(await timeIt(() => f(e4))).toFixed(2)} / ${(await timeIt(() => f(e6))).toFixed(2)} |`);
  }
  return rows.join('\n');
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
  return `${rows.join('\n')}\n\n${await runJwtChainBench()}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runJwtVerifyBench().then((t) => console.log(t));
}
