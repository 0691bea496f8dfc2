import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { identitySchema, type IdentityConfig } from '../../src/identity/schema.js';
import { openIdentity, startIdentity, type IdentityOptions, type IdentityServices } from '../../src/identity/index.js';
import { hashPassword } from '../../src/identity/passwords.js';

/** argon2 parameters for tests that are not about hashing cost */
export const FAST_HASH = { 'memory-cost': 1024, 'time-cost': 1, parallelism: 1 };

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
  });
}

/** A log sink that keeps every line, for audit and email assertions. */
export function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write(s: string) { for (const l of s.split('\n')) if (l) lines.push(JSON.parse(l)); } };
  const logger = pino({ level: 'debug' }, stream);
  return { logger, lines };
}

export interface TestIdentity {
  issuer: string;
  url: string;
  port: number;
  dir: string;
  config: IdentityConfig;
  services: IdentityServices;
  logs: Array<Record<string, unknown>>;
  addUser(u: { username?: string; email?: string; password: string; roles?: string[]; attributes?: Record<string, unknown>; emailVerified?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Start an identity provider in-process on a fresh SQLite database (or `database`) with the
 * given config overrides. The issuer is its own address (http://127.0.0.1:PORT/auth).
 */
/**
 * Anti-automation limits high enough to stay out of the way of tests that are not about them
 * (a test about them passes its own `rate-limits`, which replaces these: `{}` for the defaults).
 */
export const NO_LIMITS = {
  'sign-in': { 'per-ip': 1_000_000, 'per-subnet': 10_000_000 },
  'sign-up': { 'per-ip': 1_000_000, 'per-subnet': 10_000_000 },
  'password-reset': { 'per-address': 1000, 'per-ip': 100_000, 'per-subnet': 1_000_000 },
  mail: { 'per-address': 10_000 },
};

export async function startTestIdentity(overrides: Record<string, unknown> = {}, opts: { database?: string; port?: number; dir?: string; metrics?: import('../../src/observability/metrics.js').Metrics; steps?: IdentityOptions['steps'] } = {}): Promise<TestIdentity> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-identity-'));
  const port = opts.port ?? await freePort();
  const issuer = `http://127.0.0.1:${port}/auth`;
  const config = identitySchema.parse({
    listen: { http: port },
    issuer,
    database: opts.database ?? 'sqlite:./identity.db',
    passwords: { hash: FAST_HASH },
    'rate-limits': NO_LIMITS,
    ...overrides,
  });
  const { logger, lines } = memoryLogger();
  const running = await startIdentity(config, { configDir: dir, logger, metrics: opts.metrics, steps: opts.steps });
  const services = await openIdentity(config, dir);
  return {
    issuer, url: `http://127.0.0.1:${running.port}`, port: running.port, dir, config, services, logs: lines,
    async addUser(u) {
      const user = await services.users.create({ username: u.username, email: u.email, passwordHash: await hashPassword(u.password, config.passwords.hash), roles: u.roles, attributes: u.attributes, emailVerified: u.emailVerified });
      return user.id;
    },
    async stop() {
      await running.close();
      await services.db.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What the token endpoint answers (a field it did not send reads as undefined). */
export interface TokenAnswer {
  access_token: string; refresh_token: string; id_token: string; token_type: string; scope: string; expires_in: number;
  error: string; error_description: string;
  [field: string]: unknown;
}

/** POST a form to the token endpoint. */
export async function tokenRequest(t: { issuer: string }, body: Record<string, string>, auth?: { id: string; secret: string }): Promise<{ status: number; json: TokenAnswer; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = 'Basic ' + Buffer.from(`${encodeURIComponent(auth.id)}:${encodeURIComponent(auth.secret)}`).toString('base64');
  const res = await fetch(`${t.issuer}/token`, { method: 'POST', headers, body: new URLSearchParams(body) });
  const text = await res.text();
  let json = {} as TokenAnswer;
  try { json = JSON.parse(text); } catch { /* not json */ }
  return { status: res.status, json, text };
}

/** The claims of a token as the tests read them (a claim that is absent reads as undefined). */
export interface Claims {
  [claim: string]: unknown;
  iss: string; sub: string; aud: string | string[]; azp: string; scp: string; scope: string; client_id: string; jti: string;
  exp: number; iat: number; nbf: number; auth_time: number;
  roles: string[]; groups: string[];
  cnf: { jkt: string };
}

export function decodeJwt(token: string): { header: Record<string, string>; payload: Claims } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

export const SECRET = 'billing-secret-0123456789-abcdefghij';

/** the example clients and API */
export const EXAMPLE = {
  apis: [{ audience: 'api://orders', scopes: ['orders.read', 'orders.write'] }],
  clients: [
    { 'client-id': 'orders-cli', public: true, 'grant-types': ['password', 'refresh_token'], scopes: ['orders.read', 'orders.write'] },
    { 'client-id': 'orders-spa', public: true, 'grant-types': ['authorization_code', 'refresh_token'], 'redirect-uris': ['http://127.0.0.1:9/cb'], scopes: ['orders.read'] },
    { 'client-id': 'billing-svc', 'client-secret': SECRET, 'grant-types': ['client_credentials'], scopes: ['orders.read'], roles: ['billing'] },
  ],
};

/** A tiny cookie-keeping HTTP client that follows nothing by itself (for driving forms without a browser). */
export class Browser {
  jar = new Map<string, string>();
  constructor(readonly origin: string) {}
  #store(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') this.jar.delete(name); else this.jar.set(name, value);
    }
  }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(new URL(url, this.origin), { redirect: 'manual', headers: { cookie: this.cookieHeader(), ...headers } });
    this.#store(res);
    return res;
  }
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(new URL(url, this.origin), { method: 'POST', redirect: 'manual', body: new URLSearchParams(form), headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    this.#store(res);
    return res;
  }
  /** follow redirects within the origin; stops at the first page or at a redirect elsewhere */
  async follow(res: Response): Promise<{ res: Response; url: string }> {
    let url = res.url;
    while (res.status >= 300 && res.status < 400) {
      const loc = new URL(res.headers.get('location')!, url);
      url = loc.href;
      if (loc.origin !== this.origin) return { res, url };
      res = await this.get(loc.href);
    }
    return { res, url };
  }
}

export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
export const actionOf = (html: string) => /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? '';

/** Start a code flow for `clientId` and return the sign-in page (html) with the browser holding its cookies. */
export async function openSignIn(t: TestIdentity, clientId = 'orders-spa', redirectUri = 'http://127.0.0.1:9/cb', scope = 'openid orders.read') {
  const b = new Browser(new URL(t.issuer).origin);
  const q = new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope, state: 'st-' + Math.random(), code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
  const { res, url } = await b.follow(await b.get(`${t.issuer}/auth?${q}`));
  const html = await res.text();
  return { b, html, url, status: res.status };
}

/** Submit the sign-in form; returns the response (a redirect on success, the page again on failure). */
export async function submitSignIn(b: Browser, html: string, login: string, password: string): Promise<Response> {
  return b.post(actionOf(html), { csrf: csrfOf(html), login, password });
}

/**
 * Wait until the log shows the `n`th mail of `kind` to `to` (mail is sent off the request path,
 * from a queue) and return it; fails after 10 s.
 */
export async function waitForMail(t: { logs: Array<Record<string, unknown>> }, kind: string, to: string, n = 1): Promise<{ to: string; link: string }> {
  for (let i = 0; i < 400; i++) {
    const mails = t.logs.filter((l) => l.mail === kind && l.to === to);
    if (mails.length >= n) return mails[n - 1] as { to: string; link: string };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${kind} mail #${n} to ${to} within 10 s`);
}

export interface TestSmtp {
  url: string;
  /** every message delivered: the envelope recipients (RCPT TO) and the data */
  messages: Array<{ from: string; to: string[]; data: string }>;
  close(): Promise<void>;
}

/**
 * A minimal SMTP relay on an ephemeral port that records envelopes and data. `delayMs` delays
 * the answer to DATA's end (a slow relay); `fail` answers the first N messages with a 451.
 */
export async function startSmtp(opts: { delayMs?: number; fail?: number } = {}): Promise<TestSmtp> {
  const { createServer } = await import('node:net');
  const messages: TestSmtp['messages'] = [];
  let failures = opts.fail ?? 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let data = false, buf = '', msg = '', from = '', to: string[] = [];
    sock.write('220 test ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line === '.') {
            data = false;
            const m = { from, to, data: msg };
            msg = ''; to = [];
            const answer = () => {
              if (failures > 0) { failures--; sock.write('451 try again later\r\n'); return; }
              messages.push(m);
              sock.write('250 queued\r\n');
            };
            if (opts.delayMs) setTimeout(answer, opts.delayMs); else answer();
          } else msg += line + '\n';
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        switch (verb) {
          case 'EHLO': case 'HELO': sock.write('250-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n'); break;
          case 'MAIL': from = /<(.*)>/.exec(line)?.[1] ?? ''; sock.write('250 ok\r\n'); break;
          case 'RCPT': to.push(/<(.*)>/.exec(line)?.[1] ?? ''); sock.write('250 ok\r\n'); break;
          case 'DATA': data = true; sock.write('354 go\r\n'); break;
          case 'QUIT': sock.write('221 bye\r\n'); sock.end(); break;
          default: sock.write('250 ok\r\n');
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
