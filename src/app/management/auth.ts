import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { fetchJson } from '../../net/fetch.js';
import type { ManagementConfig } from './schema.js';

/**
 * Who calls the management API. Without `management.auth` the admin listener is trusted (it binds
 * 127.0.0.1 unless told otherwise) and the caller is `admin-listener`. With it, every request needs
 * `Authorization: Bearer <JWT>` signed by the issuer's keys (algorithm from the key, `exp`
 * required), with the configured issuer and one of the audiences, and the admin role in its role
 * claim. The actor recorded in the audit log is the token's `sub`.
 */

export type AuthResult = { ok: true; actor: string } | { ok: false; status: 401 | 403; code: 'management-unauthorized' | 'management-forbidden'; detail: string };

export type Authenticator = (req: IncomingMessage) => Promise<AuthResult>;

type AuthConfig = NonNullable<ManagementConfig['auth']>;

const TRUSTED: AuthResult = { ok: true, actor: 'admin-listener' };

function keySource(cfg: AuthConfig): () => Promise<JWTVerifyGetKey> {
  let jwks: JWTVerifyGetKey | undefined;
  return async () => {
    if (jwks) return jwks;
    let uri = cfg['jwks-uri'];
    if (uri === undefined) {
      const doc = (await fetchJson(cfg['openid-config']!, { timeoutMs: 5000, maxBytes: 256 * 1024, allowInsecureHttp: false })).json as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri !== 'string') throw new Error('the discovery document has no jwks_uri');
      uri = doc.jwks_uri;
    }
    jwks = createRemoteJWKSet(new URL(uri), { timeoutDuration: 5000 });
    return jwks;
  };
}

function roles(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? v.split(' ') : [];
}

export function authenticator(cfg: ManagementConfig['auth']): Authenticator {
  if (cfg === undefined) return async () => TRUSTED;
  if (!cfg['jwks-uri'] && !cfg['openid-config']) throw new Error('management.auth needs jwks-uri or openid-config');
  const keys = keySource(cfg);
  const unauthorized = (detail: string): AuthResult => ({ ok: false, status: 401, code: 'management-unauthorized', detail });
  return async (req) => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(h) : null;
    if (!m) return unauthorized('Send an admin token as `Authorization: Bearer <token>`.');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(m[1]!, await keys(), { issuer: cfg.issuer, audience: cfg.audiences, requiredClaims: ['exp'], clockTolerance: 30 }));
    } catch {
      return unauthorized('The token is not valid for the management API (signature, issuer, audience or expiry).');
    }
    if (!roles(payload[cfg['role-claim']]).includes(cfg['admin-role'])) {
      return { ok: false, status: 403, code: 'management-forbidden', detail: `The token lacks the ${cfg['admin-role']} role.` };
    }
    return { ok: true, actor: typeof payload.sub === 'string' ? payload.sub : 'unknown' };
  };
}
