import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';

/** A minimal OpenID provider for the benchmark: discovery + JWKS per algorithm, and a signer. */
export async function jwksServer() {
  const keys: Record<string, { priv: CryptoKey; jwk: Record<string, unknown> }> = {};
  for (const alg of ['RS256', 'ES256']) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    keys[alg] = { priv: privateKey as CryptoKey, jwk: { ...(await exportJWK(publicKey)), kid: `bench-${alg}`, alg, use: 'sig' } };
  }
  const server = createServer((req, res) => {
    const [, alg, ...rest] = (req.url ?? '').split('/');
    const path = rest.join('/');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${alg}`;
    if (path === '.well-known/openid-configuration') return res.end(JSON.stringify({ issuer: 'https://idp.bench', jwks_uri: `${base}/jwks` }));
    if (path === 'jwks' && keys[alg!]) return res.end(JSON.stringify({ keys: [keys[alg!]!.jwk] }));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: (alg: string, sub = 'bench-user', exp?: number) =>
      new SignJWT({ scp: 'orders.read', sub })
        .setProtectedHeader({ alg, kid: `bench-${alg}`, typ: 'at+jwt' })
        .setIssuer('https://idp.bench').setAudience('api://orders').setIssuedAt(exp === undefined ? undefined : exp - 3600).setExpirationTime(exp ?? '2h')
        .sign(keys[alg]!.priv),
    /** the public key as SPKI PEM (what HAProxy's jwt_verify reads) */
    pem: (alg: string) => createPublicKey({ key: keys[alg]!.jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString(),
    close: () => server.close(),
  };
}
