import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from './db.js';
import type { IdentityClientConfig } from './schema.js';

/** Scopes every user-facing client may ask for besides its API scopes. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

export interface ClientRow { client_id: string; metadata: string; secret_hash: string | null }

/** A new client secret: 256 random bits, base64url. Shown once; only its hash is stored. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form of a client secret: `sha256:<hex>`. */
export function hashClientSecret(secret: string): string {
  return 'sha256:' + createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Compare a presented secret with the stored hash in constant time (hashing first makes both
 * sides the same length whatever was presented).
 */
export function compareClientSecret(stored: string | undefined, presented: unknown): boolean {
  if (typeof stored !== 'string' || !stored.startsWith('sha256:') || typeof presented !== 'string') return false;
  const a = Buffer.from(stored.slice(7), 'hex');
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The portable description of a client, as stored in the database and given in config. */
export interface ClientSpec {
  clientId: string;
  public: boolean;
  grantTypes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  scopes: string[];
  roles: string[];
  firstParty: boolean;
  name?: string;
  /** the application's home page (`client_uri`): error pages link back to it */
  home?: string;
  /** multi-factor policy; absent: `mfa.policy` */
  mfa?: 'off' | 'optional' | 'required';
}

export function specFromConfig(c: IdentityClientConfig): ClientSpec {
  return {
    clientId: c['client-id'], public: c.public, grantTypes: c['grant-types'], redirectUris: c['redirect-uris'],
    postLogoutRedirectUris: c['post-logout-redirect-uris'], scopes: c.scopes, roles: c.roles, firstParty: c['first-party'], name: c.name, home: c.home,
    ...(c.mfa ? { mfa: c.mfa } : {}),
  };
}

/** what a client id may be: 1–200 letters, digits and . _ : ~ - */
export const CLIENT_ID = /^[\w.:~-]{1,200}$/;

/**
 * Why a client made by `gatehouse clients add` or the management API is not valid (as the config
 * schema checks a client), or undefined; `field` names a field as the caller spells it.
 */
export function clientSpecProblem(spec: ClientSpec, field: (name: 'scopes' | 'redirect-uris') => string): string | undefined {
  for (const g of spec.grantTypes) if (!['authorization_code', 'refresh_token', 'client_credentials', 'password'].includes(g)) return `unknown grant type ${g}`;
  if (spec.public && spec.grantTypes.includes('client_credentials')) return 'client_credentials needs a confidential client';
  if (spec.grantTypes.every((g) => g === 'client_credentials') && !spec.scopes.length) return `a client_credentials client needs ${field('scopes')}: they name the APIs it may get tokens for`;
  if (spec.grantTypes.includes('authorization_code') && !spec.redirectUris.length) return `authorization_code needs ${field('redirect-uris')}`;
  for (const u of [...spec.redirectUris, ...spec.postLogoutRedirectUris]) if (!URL.canParse(u)) return `${u} is not a URL`;
  return undefined;
}

/** oidc-provider client metadata for a client; `secretHash` goes where it expects the secret. */
export function toMetadata(spec: ClientSpec, secretHash: string | null): Record<string, unknown> {
  const userFacing = spec.grantTypes.some((g) => g !== 'client_credentials');
  const scopes = [...new Set([...(userFacing ? OIDC_SCOPES : []), ...spec.scopes])];
  return {
    client_id: spec.clientId,
    ...(spec.public ? { token_endpoint_auth_method: 'none' } : { client_secret: secretHash, token_endpoint_auth_method: 'client_secret_basic' }),
    grant_types: spec.grantTypes,
    response_types: spec.grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: spec.redirectUris,
    post_logout_redirect_uris: spec.postLogoutRedirectUris,
    scope: scopes.join(' '),
    gatehouse_roles: spec.roles,
    gatehouse_first_party: spec.firstParty,
    ...(spec.mfa ? { gatehouse_mfa: spec.mfa } : {}),
    ...(spec.name ? { client_name: spec.name } : {}),
    ...(spec.home ? { client_uri: spec.home } : {}),
  };
}

export function clientMetadataFromRow(row: ClientRow): Record<string, unknown> {
  return toMetadata(JSON.parse(row.metadata) as ClientSpec, row.secret_hash);
}

/** Clients created by `gatehouse clients add`, stored in the database. */
export class ClientStore {
  constructor(private readonly db: Db) {}

  async add(spec: ClientSpec): Promise<string | undefined> {
    const secret = spec.public ? undefined : generateClientSecret();
    const n = await this.db.run(
      'INSERT INTO clients (client_id, metadata, secret_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (client_id) DO NOTHING',
      [spec.clientId, JSON.stringify(spec), secret ? hashClientSecret(secret) : null, Date.now()]);
    if (n === 0) throw new Error(`client ${spec.clientId} already exists`);
    return secret;
  }

  async list(): Promise<Array<ClientSpec & { createdAt: number }>> {
    const rows = await this.db.all<ClientRow & { created_at: number }>('SELECT client_id, metadata, secret_hash, created_at FROM clients ORDER BY client_id');
    return rows.map((r) => ({ ...(JSON.parse(r.metadata) as ClientSpec), createdAt: Number(r.created_at) }));
  }

  async get(clientId: string): Promise<ClientSpec | undefined> {
    const r = await this.db.one<ClientRow>('SELECT client_id, metadata, secret_hash FROM clients WHERE client_id = $1', [clientId]);
    return r ? (JSON.parse(r.metadata) as ClientSpec) : undefined;
  }

  async remove(clientId: string): Promise<boolean> {
    const n = await this.db.run('DELETE FROM clients WHERE client_id = $1', [clientId]);
    // its grants, codes and tokens are revoked too, matched exactly on their client_id column
    // (not with LIKE on the payload, whose `_` and `%` are wildcards)
    await this.db.run('DELETE FROM oidc_payloads WHERE client_id = $1', [clientId]);
    return n > 0;
  }

  async rotateSecret(clientId: string): Promise<string> {
    const spec = await this.get(clientId);
    if (!spec) throw new Error(`no client ${clientId} in the database`);
    if (spec.public) throw new Error(`client ${clientId} is public: it has no secret`);
    const secret = generateClientSecret();
    await this.db.run('UPDATE clients SET secret_hash = $2 WHERE client_id = $1', [clientId, hashClientSecret(secret)]);
    return secret;
  }
}
