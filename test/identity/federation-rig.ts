import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Browser, csrfOf, freePort, startTestIdentity, type TestIdentity } from './helpers.js';

/**
 * Peers for the federation tests: a real upstream OpenID provider (a second Gatehouse identity
 * provider, i.e. oidc-provider), an upstream that misbehaves on purpose (an attacker's or a
 * broken provider: its ID tokens name another issuer, another audience or another nonce), and a
 * small OAuth 2.0 provider that follows RFC 6749 and RFC 7636 (there is no packaged one here).
 */

export const UP_SECRET = 'upstream-client-secret-0123456789';
export const PASSWORD = 'correct horse battery staple';

/** a second Gatehouse identity provider as the upstream IdP, with a confidential client for `redirectUris` */
export async function startUpstream(redirectUris: string[]): Promise<TestIdentity> {
  return startTestIdentity({
    clients: [{ 'client-id': 'downstream', 'client-secret': UP_SECRET, 'grant-types': ['authorization_code'], 'redirect-uris': redirectUris }],
    branding: { name: 'Upstream IdP' },
  });
}

const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> => {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
};

const body = (req: IncomingMessage) => new Promise<URLSearchParams>((r) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => r(new URLSearchParams(b))); });
const json = (res: ServerResponse, status: number, v: unknown) => { res.statusCode = status; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(v)); };

/** `replayed-nonce`: the nonce of the sign-in before (an ID token replayed from an earlier sign-in) */
export type EvilMode = 'honest' | 'wrong-issuer' | 'other-audience' | 'wrong-nonce' | 'no-nonce' | 'replayed-nonce' | 'unsigned';

/**
 * An OpenID provider under test control: it signs in whoever comes (no page: /authorize answers
 * with a code at once) and issues ID tokens shaped by `mode`. Everything else is by the spec.
 */
export async function startEvilUpstream(clientId: string) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce?: string; previous?: string; redirect: string }>();
  let lastNonce: string | undefined;
  const state = { mode: 'honest' as EvilMode, email: 'mallory@example.com', emailVerified: true, sub: 'evil-user-1', lastTokenForm: new URLSearchParams() };
  let issuer = '';
  const { server, url } = await listen(async (req, res) => {
    const u = new URL(req.url!, issuer);
    if (u.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'], response_modes_supported: ['query', 'form_post'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (u.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (u.pathname === '/authorize') {
      const code = randomBytes(16).toString('hex');
      codes.set(code, { nonce: u.searchParams.get('nonce') ?? undefined, previous: lastNonce, redirect: u.searchParams.get('redirect_uri')! });
      lastNonce = u.searchParams.get('nonce') ?? undefined;
      if (u.searchParams.get('response_mode') === 'form_post') {
        // OAuth 2.0 Form Post Response Mode: a page whose form posts the answer to the redirect URI
        res.setHeader('content-type', 'text/html');
        return res.end(`<form method="post" action="${u.searchParams.get('redirect_uri')}"><input type="hidden" name="code" value="${code}"><input type="hidden" name="state" value="${u.searchParams.get('state')}"></form>`);
      }
      const back = new URL(u.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', u.searchParams.get('state') ?? '');
      res.statusCode = 302; res.setHeader('location', back.href); return res.end();
    }
    if (u.pathname === '/token' && req.method === 'POST') {
      const form = await body(req);
      state.lastTokenForm = form;
      const c = codes.get(form.get('code') ?? '');
      if (!c) return json(res, 400, { error: 'invalid_grant' });
      codes.delete(form.get('code')!);
      const m = state.mode;
      const claims: Record<string, unknown> = { sub: state.sub, email: state.email, email_verified: state.emailVerified };
      if (m !== 'no-nonce') claims.nonce = m === 'wrong-nonce' ? 'not-the-nonce' : m === 'replayed-nonce' ? c.previous : c.nonce;
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(m === 'wrong-issuer' ? 'https://someone-else.example' : issuer).setAudience(m === 'other-audience' ? 'another-client' : clientId)
        .setIssuedAt().setExpirationTime('5m');
      let idToken = await jwt.sign(privateKey);
      if (m === 'unsigned') {
        const [h, p] = idToken.split('.');
        idToken = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(h!, 'base64url').toString()), alg: 'none' })).toString('base64url')}.${p}.`;
      }
      return json(res, 200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    res.statusCode = 404; res.end();
  });
  issuer = url;
  return { issuer, state, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/**
 * A small OAuth 2.0 provider (RFC 6749 authorization code, RFC 7636 PKCE, client_secret_basic)
 * with a GitHub-style profile endpoint: a numeric `id`, `login`, `email`. It signs in the
 * configured user without a page.
 */
export async function startOAuth2Upstream(client: { id: string; secret: string }) {
  const codes = new Map<string, { challenge?: string; redirect: string }>();
  const tokens = new Set<string>();
  const user = { id: 4242, login: 'octo', name: 'Octo Cat', email: 'octo@example.com' };
  const { server, url } = await listen(async (req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname === '/authorize') {
      if (u.searchParams.get('client_id') !== client.id) return json(res, 400, { error: 'invalid_client' });
      const code = randomBytes(16).toString('hex');
      codes.set(code, { challenge: u.searchParams.get('code_challenge') ?? undefined, redirect: u.searchParams.get('redirect_uri')! });
      const back = new URL(u.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', u.searchParams.get('state') ?? '');
      res.statusCode = 302; res.setHeader('location', back.href); return res.end();
    }
    if (u.pathname === '/token' && req.method === 'POST') {
      const basic = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
      if (basic[0] !== client.id || basic[1] !== client.secret) return json(res, 401, { error: 'invalid_client' });
      const form = await body(req);
      const c = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!c || c.redirect !== form.get('redirect_uri')) return json(res, 400, { error: 'invalid_grant' });
      const verifier = form.get('code_verifier') ?? '';
      if (c.challenge && createHash('sha256').update(verifier).digest('base64url') !== c.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
      const t = randomBytes(16).toString('hex');
      tokens.add(t);
      return json(res, 200, { access_token: t, token_type: 'bearer', scope: 'read:user' });
    }
    if (u.pathname === '/user') {
      const t = String(req.headers.authorization ?? '').replace(/^Bearer /i, '');
      if (!tokens.has(t)) return json(res, 401, { message: 'Bad credentials' });
      return json(res, 200, user);
    }
    res.statusCode = 404; res.end();
  });
  return { url, user, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** the downstream's own (Gatehouse) client, with a fixed PKCE pair */
export const RP = { clientId: 'orders-spa', redirect: 'http://127.0.0.1:9/cb', verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' };

/** start a code flow at the downstream; the browser is on its sign-in page */
export async function openDownstream(down: TestIdentity, extra: Record<string, string> = {}) {
  const b = new Browser(new URL(down.issuer).origin);
  const q = new URLSearchParams({ client_id: RP.clientId, response_type: 'code', redirect_uri: RP.redirect, scope: 'openid orders.read', state: 'rp-' + Math.random(), code_challenge: RP.challenge, code_challenge_method: 'S256', ...extra });
  const first = await b.get(`${down.issuer}/auth?${q}`);
  return { b, first };
}

/** press "Sign in with <connector>" on the sign-in page; returns the redirect to the upstream */
export async function pressConnector(b: Browser, html: string, connector: string): Promise<Response> {
  const action = new RegExp(`<form method="post" action="([^"]+/federate)"><input type="hidden" name="csrf" value="[^"]+"><input type="hidden" name="connector" value="${connector}">`).exec(html)?.[1];
  assert.ok(action, `a button for ${connector}`);
  return b.post(action!.replace(/&amp;/g, '&'), { csrf: csrfOf(html), connector });
}

/** sign in at an upstream Gatehouse (its own browser: the two share cookie names) from its authorization URL; returns the redirect back */
export async function signInUpstream(up: TestIdentity, authorizeUrl: string, login: string, password = PASSWORD): Promise<URL> {
  const ub = new Browser(new URL(up.issuer).origin);
  const { res } = await ub.follow(await ub.get(authorizeUrl));
  const html = await res.text();
  const action = /<form method="post" action="([^"]+\/login)"/.exec(html)?.[1];
  assert.ok(action, 'the upstream sign-in page');
  let r = await ub.post(action!, { csrf: csrfOf(html), login, password });
  // follow the upstream's own redirects (resume, consent) until it sends the browser elsewhere
  while (r.status >= 300 && r.status < 400) {
    const loc = new URL(r.headers.get('location')!, up.issuer);
    if (loc.origin !== new URL(up.issuer).origin || !loc.pathname.startsWith('/auth')) return loc;
    if (loc.pathname.includes('/federation/')) return loc;
    r = await ub.get(loc.href);
  }
  assert.fail(`the upstream did not send the browser back (status ${r.status}): ${(await r.text()).slice(0, 300)}`);
}

export { freePort };
