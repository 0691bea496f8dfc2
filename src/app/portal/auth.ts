import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { fetchJson } from '../../net/fetch.js';

/**
 * The developer behind a portal request: `Authorization: Bearer <access token>` of the identity
 * provider, verified with its published keys (found through its discovery document, the
 * algorithm from the key, `exp` required, 30 s of clock skew), for the portal's audience.
 * The token's `sub` is the developer: the owner of the subscriptions they make.
 */

export type Developer = { ok: true; sub: string; claims: JWTPayload } | { ok: false; detail: string };

export function developerVerifier(issuer: string, audience: string): (req: IncomingMessage) => Promise<Developer> {
  let jwks: Promise<JWTVerifyGetKey> | undefined;
  const keys = () => {
    jwks ??= fetchJson(`${issuer}/.well-known/openid-configuration`, { timeoutMs: 5000, maxBytes: 256 * 1024, allowInsecureHttp: false })
      .then(({ json }) => {
        const uri = (json as { jwks_uri?: unknown }).jwks_uri;
        if (typeof uri !== 'string') throw new Error('the discovery document has no jwks_uri');
        return createRemoteJWKSet(new URL(uri), { timeoutDuration: 5000 });
      })
      .catch((err: unknown) => { jwks = undefined; throw err; });
    return jwks;
  };
  return async (req) => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(h) : null;
    if (!m) return { ok: false, detail: 'Sign in: send your access token as `Authorization: Bearer <token>`.' };
    // the keys not reachable is the portal's trouble (503), not the token's
    const k = await keys();
    try {
      const { payload } = await jwtVerify(m[1]!, k, { issuer, audience, requiredClaims: ['exp', 'sub'], clockTolerance: 30 });
      return { ok: true, sub: payload.sub!, claims: payload };
    } catch {
      return { ok: false, detail: 'The token is not valid for the portal (signature, issuer, audience or expiry): sign in again.' };
    }
  };
}
