import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { identitySchema, type IdentityConfig } from '../../src/identity/schema.js';
import { openIdentity, startIdentity, type IdentityServices } from '../../src/identity/index.js';
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
export async function startTestIdentity(overrides: Record<string, unknown> = {}, opts: { database?: string; port?: number; dir?: string } = {}): Promise<TestIdentity> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-identity-'));
  const port = opts.port ?? await freePort();
  const issuer = `http://127.0.0.1:${port}/auth`;
  const config = identitySchema.parse({
    listen: { http: port },
    issuer,
    database: opts.database ?? 'sqlite:./identity.db',
    passwords: { hash: FAST_HASH },
    ...overrides,
  });
  const { logger, lines } = memoryLogger();
  const running = await startIdentity(config, { configDir: dir, logger });
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

/** POST a form to the token endpoint. */
export async function tokenRequest(t: { issuer: string }, body: Record<string, string>, auth?: { id: string; secret: string }): Promise<{ status: number; json: Record<string, any>; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = 'Basic ' + Buffer.from(`${encodeURIComponent(auth.id)}:${encodeURIComponent(auth.secret)}`).toString('base64');
  const res = await fetch(`${t.issuer}/token`, { method: 'POST', headers, body: new URLSearchParams(body) });
  const text = await res.text();
  let json: Record<string, any> = {};
  try { json = JSON.parse(text); } catch { /* not json */ }
  return { status: res.status, json, text };
}

export function decodeJwt(token: string): { header: Record<string, any>; payload: Record<string, any> } {
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
