import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { constantTimeEqual, hmacSha1, parseAuthorizationHeader, signatureBaseString } from '../../src/identity/connectors/oauth1-sign.js';

/**
 * A small OAuth 1.0a provider that follows RFC 5849 (with the 1.0a verifier), X-style: every
 * request carries an `Authorization: OAuth` header whose HMAC-SHA1 signature is checked over
 * the base string rebuilt from what arrived; timestamps outside ±5 minutes and nonces seen
 * before are refused (`oauth_problem`, RFC 5849 §3.2 and the Problem Reporting extension);
 * a request token is spent by its exchange and needs the verifier given with it.
 *
 * `/oauth/authenticate` is a page with an "Authorize app" form (the browser test presses it;
 * the other tests post it). Test controls: `skew` (the provider's clock, seconds ahead of
 * ours) and `nonceSeen` (it answers every nonce as replayed).
 */

interface RequestToken { secret: string; callback: string; user?: string; verifier?: string }

export interface OAuth1Upstream {
  url: string;
  consumer: { key: string; secret: string };
  users: Record<string, { id_str: string; name: string; email: string | null }>;
  control: { skew: number; nonceSeen: boolean };
  /** request tokens exchanged for access tokens (token secret confusion: the attacker's must never be) */
  exchanged: string[];
  /** the callback URL the upstream sends the browser to for `token` once `user` authorized it (what the authorize form does) */
  authorize(authorizeUrl: string, user: string): Promise<URL>;
  close(): Promise<void>;
}

const WINDOW = 300;

export async function startOAuth1Upstream(): Promise<OAuth1Upstream> {
  const consumer = { key: 'x-consumer-key', secret: 'x-consumer-secret-0123456789' };
  const users: OAuth1Upstream['users'] = {
    // an id over 2^53, as X's are: only id_str keeps it
    jack: { id_str: '1420000000000000001', name: 'Jack Example', email: 'jack@example.com' },
    mallory: { id_str: '1420000000000000666', name: 'Mallory', email: null },
  };
  const control = { skew: 0, nonceSeen: false };
  const requestTokens = new Map<string, RequestToken>();
  const accessTokens = new Map<string, { secret: string; user: string }>();
  const nonces = new Set<string>();
  const exchanged: string[] = [];
  let origin = '';

  const form = (res: ServerResponse, status: number, v: Record<string, string>) => {
    res.statusCode = status; res.setHeader('content-type', 'application/x-www-form-urlencoded'); res.end(new URLSearchParams(v).toString());
  };
  const problem = (res: ServerResponse, p: string) => form(res, 401, { oauth_problem: p });
  const body = (req: IncomingMessage) => new Promise<URLSearchParams>((r) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => r(new URLSearchParams(b))); });

  /** RFC 5849 §3.2: the protocol parameters of a signed request, or the problem */
  function verify(req: IncomingMessage, url: URL, posted: URLSearchParams, tokenSecret: (token: string) => string | undefined): Map<string, string> | string {
    const p = parseAuthorizationHeader(req.headers.authorization);
    if (!p) return 'parameter_absent';
    for (const k of ['oauth_consumer_key', 'oauth_signature_method', 'oauth_timestamp', 'oauth_nonce', 'oauth_signature']) if (!p.get(k)) return 'parameter_absent';
    if (p.has('oauth_version') && p.get('oauth_version') !== '1.0') return 'version_rejected';
    if (p.get('oauth_signature_method') !== 'HMAC-SHA1') return 'signature_method_rejected';
    if (p.get('oauth_consumer_key') !== consumer.key) return 'consumer_key_unknown';
    const token = p.get('oauth_token');
    const secret = token === undefined ? '' : tokenSecret(token);
    if (secret === undefined) return 'token_rejected';
    const base = signatureBaseString(req.method!, url, [...[...p].filter(([k]) => k !== 'realm'), ...posted]);
    if (!constantTimeEqual(hmacSha1(base, consumer.secret, secret), p.get('oauth_signature')!)) return 'signature_invalid';
    const now = Math.floor(Date.now() / 1000) + control.skew;
    if (!/^\d{1,12}$/.test(p.get('oauth_timestamp')!) || Math.abs(now - Number(p.get('oauth_timestamp'))) > WINDOW) return 'timestamp_refused';
    const once = `${p.get('oauth_timestamp')}|${p.get('oauth_nonce')}|${token ?? ''}`;
    if (control.nonceSeen || nonces.has(once)) return 'nonce_used';
    nonces.add(once);
    return p;
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url!, origin);
    const posted = req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? await body(req) : new URLSearchParams();
    if (url.pathname === '/oauth/request_token' && req.method === 'POST') {
      const p = verify(req, url, posted, () => undefined);
      if (typeof p === 'string') return problem(res, p);
      const callback = p.get('oauth_callback');
      if (!callback) return problem(res, 'parameter_absent');
      const token = randomBytes(16).toString('hex');
      requestTokens.set(token, { secret: randomBytes(16).toString('hex'), callback });
      return form(res, 200, { oauth_token: token, oauth_token_secret: requestTokens.get(token)!.secret, oauth_callback_confirmed: 'true' });
    }
    if (url.pathname === '/oauth/authenticate' && req.method === 'GET') {
      const token = url.searchParams.get('oauth_token') ?? '';
      if (!requestTokens.has(token)) { res.statusCode = 400; return res.end('unknown request token'); }
      res.setHeader('content-type', 'text/html');
      return res.end(`<!doctype html><title>X-like</title><h1>Authorize the app?</h1><form method="post" action="/oauth/authenticate">
<input type="hidden" name="oauth_token" value="${token}"><label for="user">Username</label><input id="user" name="user"><button type="submit">Authorize app</button></form>`);
    }
    if (url.pathname === '/oauth/authenticate' && req.method === 'POST') {
      const rt = requestTokens.get(posted.get('oauth_token') ?? '');
      if (!rt || !users[posted.get('user') ?? '']) { res.statusCode = 400; return res.end('unknown request token or user'); }
      rt.user = posted.get('user')!;
      rt.verifier = randomBytes(12).toString('hex');
      const back = new URL(rt.callback);
      back.searchParams.set('oauth_token', posted.get('oauth_token')!);
      back.searchParams.set('oauth_verifier', rt.verifier);
      res.statusCode = 302; res.setHeader('location', back.href); return res.end();
    }
    if (url.pathname === '/oauth/access_token' && req.method === 'POST') {
      const p = verify(req, url, posted, (t) => requestTokens.get(t)?.secret);
      if (typeof p === 'string') return problem(res, p);
      const token = p.get('oauth_token') ?? '';
      const rt = requestTokens.get(token)!;
      requestTokens.delete(token); // spent, whatever the verifier
      if (!rt.user || !rt.verifier || p.get('oauth_verifier') !== rt.verifier) return problem(res, 'verifier_invalid');
      exchanged.push(token);
      const at = randomBytes(16).toString('hex');
      accessTokens.set(at, { secret: randomBytes(16).toString('hex'), user: rt.user });
      return form(res, 200, { oauth_token: at, oauth_token_secret: accessTokens.get(at)!.secret, user_id: users[rt.user]!.id_str, screen_name: rt.user });
    }
    if (url.pathname === '/1.1/account/verify_credentials.json' && req.method === 'GET') {
      const p = verify(req, url, posted, (t) => accessTokens.get(t)?.secret);
      if (typeof p === 'string') return problem(res, p);
      const name = accessTokens.get(p.get('oauth_token')!)!.user;
      const u = users[name]!;
      res.setHeader('content-type', 'application/json');
      // the raw number as X sends it (JSON.parse loses its last digits), the string next to it
      const email = url.searchParams.get('include_email') === 'true' ? u.email : undefined;
      return res.end(`{"id":${u.id_str},"id_str":"${u.id_str}","name":${JSON.stringify(u.name)},"screen_name":"${name}"${email !== undefined ? `,"email":${JSON.stringify(email)}` : ''}}`);
    }
    res.statusCode = 404; res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    url: origin, consumer, users, control, exchanged,
    async authorize(authorizeUrl, user) {
      const token = new URL(authorizeUrl).searchParams.get('oauth_token') ?? '';
      const r = await fetch(`${origin}/oauth/authenticate`, { method: 'POST', body: new URLSearchParams({ oauth_token: token, user }), redirect: 'manual' });
      if (r.status !== 302) throw new Error(`the upstream did not authorize (${r.status}): ${await r.text()}`);
      return new URL(r.headers.get('location')!);
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
