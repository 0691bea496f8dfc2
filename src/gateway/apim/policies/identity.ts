import { PolicyRunError } from '../block.js';
import { loadError, registerPolicy } from '../registry.js';
import { boolAttr, literalAttr, strAttr } from '../values.js';

/**
 * authentication-managed-identity with a local token endpoint (`apim.managed-identity`): the
 * gateway gets a client-credentials token for `resource` (sent as the RFC 8707 `resource`
 * parameter), keeps it until a minute before it expires, and sets `Authorization: Bearer …` on
 * the backend request (or the variable `output-token-variable-name`). Without the setting the
 * policy is the cloud-only load error it is in the service's absence.
 */

export interface ManagedIdentity { tokenEndpoint: string; clientId: string; clientSecret: string }

interface Cached { token: string; until: number }
const TOKENS = new Map<string, Cached>();
const PENDING = new Map<string, Promise<Cached>>();

async function fetchToken(mi: ManagedIdentity, clientId: string, resource: string): Promise<Cached> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: mi.clientSecret, resource });
  let r: Response;
  try {
    r = await fetch(mi.tokenEndpoint, { method: 'POST', body, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000), redirect: 'error' });
  } catch (err) {
    throw new PolicyRunError('TokenEndpointUnreachable', `the token endpoint cannot be reached: ${(err as Error).message}`);
  }
  const j = await r.json().catch(() => ({})) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
  if (!r.ok || typeof j.access_token !== 'string' || j.access_token === '' || /[\0\r\n]/.test(j.access_token)) {
    throw new PolicyRunError('TokenRequestFailed', `the token endpoint answered ${r.status}${typeof j.error === 'string' ? ` (${j.error})` : ''} without a token`);
  }
  const life = Number(j.expires_in);
  const seconds = Number.isFinite(life) && life > 0 ? life : 300;
  return { token: j.access_token, until: Date.now() + Math.max(seconds - 60, seconds / 2) * 1000 };
}

export function tokenFor(mi: ManagedIdentity, clientId: string, resource: string): Promise<string> | string {
  const key = `${mi.tokenEndpoint}\u0000${clientId}\u0000${resource}`;
  const hit = TOKENS.get(key);
  if (hit !== undefined && hit.until > Date.now()) return hit.token;
  let p = PENDING.get(key);
  if (p === undefined) {
    p = fetchToken(mi, clientId, resource).then((t) => { if (TOKENS.size >= 1000) TOKENS.clear(); TOKENS.set(key, t); return t; }).finally(() => PENDING.delete(key));
    PENDING.set(key, p);
  }
  return p.then((t) => t.token);
}

registerPolicy({
  name: 'authentication-managed-identity', sections: ['inbound', 'backend'], attributes: ['resource', 'client-id', 'output-token-variable-name', 'ignore-error'], required: ['resource'],
  compile(el, ctx) {
    const mi = ctx.env.managedIdentity;
    if (mi === undefined) {
      throw loadError('cloud-only-policy', '<authentication-managed-identity> needs a token endpoint: set apim.managed-identity (token-endpoint, client-id, client-secret)', el.pos);
    }
    const resource = strAttr(el, 'resource', ctx)!;
    const clientId = strAttr(el, 'client-id', ctx);
    const variable = literalAttr(el, 'output-token-variable-name');
    const ignore = boolAttr(el, 'ignore-error', ctx, false);
    return async (c) => {
      let token: string;
      try {
        token = await tokenFor(mi, clientId?.(c) ?? mi.clientId, resource(c));
      } catch (err) {
        if (ignore(c)) return undefined;
        throw err;
      }
      if (variable !== undefined) c.ex.setVar(variable, token);
      else c.ex.upstreamHeaders.authorization = `Bearer ${token}`;
      return undefined;
    };
  },
});
