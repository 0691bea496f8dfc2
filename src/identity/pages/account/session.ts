import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCookies } from '../../../net/cookies.js';
import type { User } from '../../accounts.js';
import { COOKIE_PREFIX } from '../layout.js';
import { redirect, type PageKit } from '../kit.js';

/** the built-in client the console signs in with (a first-party public client with PKCE) */
export const CONSOLE_CLIENT = 'gatehouse-account';
const STATE_COOKIE = `${COOKIE_PREFIX}account-state`;

/** its oidc-provider metadata: only the console's own callback is a redirect URI */
export function consoleClient(issuer: string, name: string): Record<string, unknown> {
  const base = issuer.replace(/\/$/, '');
  return {
    client_id: CONSOLE_CLIENT, token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'],
    redirect_uris: [`${base}/account/callback`], post_logout_redirect_uris: [], scope: 'openid', gatehouse_roles: [],
    gatehouse_first_party: true, client_name: `${name} account`,
  };
}

/** who is signed in to the console: the identity provider's own browser session */
export interface ConsoleSession {
  user: User;
  /** the session's uid (what the sessions list shows and signs out by) */
  uid: string;
  /** when the session signed in (ms) */
  loginTs: number;
  amr: string[];
}

interface OpSession { accountId?: string; uid?: string; loginTs?: number; amr?: string[] }
type SessionModel = { Session: { get(ctx: { req: IncomingMessage; res: ServerResponse }): Promise<OpSession> } };

export async function consoleSession(kit: PageKit, req: IncomingMessage, res: ServerResponse): Promise<ConsoleSession | undefined> {
  const s = await (kit.provider() as unknown as SessionModel).Session.get({ req, res });
  if (!s?.accountId || !s.uid) return undefined;
  const user = await kit.users.get(s.accountId);
  if (!user || user.disabled) return undefined;
  return { user, uid: s.uid, loginTs: (s.loginTs ?? 0) * 1000, amr: s.amr ?? [] };
}

/** to sign-in (an authorization request of the console's client) and back; `fresh` asks to sign in again */
export function toSignIn(kit: PageKit, res: ServerResponse, fresh = false): void {
  const state = randomBytes(18).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    client_id: CONSOLE_CLIENT, response_type: 'code', scope: 'openid', redirect_uri: `${kit.issuer}/account/callback`, state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    ...(fresh ? { prompt: 'login' } : {}),
  });
  res.appendHeader('set-cookie', `${STATE_COOKIE}=${state}; Path=${kit.base || '/'}/account; HttpOnly; SameSite=Lax; Max-Age=600${kit.issuer.startsWith('https:') ? '; Secure' : ''}`);
  redirect(res, `${kit.issuer}/auth?${q}`);
}

/** the end of sign-in: the state must be this browser's; the session is now the provider's */
export function callbackOk(req: IncomingMessage, res: ServerResponse, kit: PageKit, state: string): boolean {
  const kept = parseCookies(req.headers.cookie)[STATE_COOKIE] ?? '';
  res.appendHeader('set-cookie', `${STATE_COOKIE}=; Path=${kit.base || '/'}/account; HttpOnly; SameSite=Lax; Max-Age=0`);
  const a = Buffer.from(kept), b = Buffer.from(state);
  return a.length > 0 && a.length === b.length && timingSafeEqual(a, b);
}
