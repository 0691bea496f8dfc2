/* eslint-disable @typescript-eslint/no-explicit-any */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';
import { DatabaseBusy, openDb, type Db } from './db.js';
import { adapterFactory, cleanupExpired } from './adapter.js';
import { Authenticator, UserStore } from './accounts.js';
import { derive, KeyStore, masterKey } from './keys.js';
import { createOutbox } from './email.js';
import { createHostedPages, PAGE_CSP, providerCsp } from './hosted.js';
import { buildProvider } from './provider.js';
import { Limits } from './ratelimit.js';
import { createStore } from '../state/index.js';
import { Metrics } from '../observability/metrics.js';
import { warmPasswordChecker } from './passwords.js';

export type { IdentityConfig } from './schema.js';

export interface IdentityServices {
  db: Db;
  users: UserStore;
  keys: KeyStore;
  master: Buffer;
}

/** Open the identity database (migrations run) and the services on it; used by the server and the CLI. */
export async function openIdentity(config: IdentityConfig, configDir: string): Promise<IdentityServices> {
  const db = await openDb(config.database, configDir, { busyTimeoutMs: config['database-busy-timeout'] * 1000 });
  try {
    const master = masterKey(config, db);
    const keys = new KeyStore(db, master, config);
    await keys.ensure();
    return { db, users: new UserStore(db), keys, master };
  } catch (e) {
    await db.close();
    throw e;
  }
}

function compileTrusted(list: string[]): BlockList {
  const bl = new BlockList();
  for (const entry of list) {
    const [addr, bits] = entry.split('/');
    const type = isIP(addr!) === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(addr!)) throw new Error(`identity.trusted-proxies: ${entry} is not an address or CIDR range`);
    if (bits === undefined) bl.addAddress(addr!, type);
    else bl.addSubnet(addr!, Number(bits), type);
  }
  return bl;
}

const normIp = (ip: string) => (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

/**
 * Start the identity provider: oidc-provider mounted at the issuer's path, the hosted pages
 * beside it, on its own listener (loopback by default). Logs one `listening` line.
 */
export async function startIdentity(
  config: IdentityConfig,
  opts: { configDir: string; logger: Logger; metrics?: Metrics },
): Promise<{ port: number; close(): Promise<void> }> {
  const logger = opts.logger.bindings().component === 'identity' ? opts.logger : opts.logger.child({ component: 'identity' });
  const { db, users, keys, master } = await openIdentity(config, opts.configDir);
  const issuerUrl = new URL(config.issuer);
  const base = issuerUrl.pathname.replace(/\/+$/, '');
  const trusted = compileTrusted(config['trusted-proxies']);
  const isTrusted = (ip: string) => {
    const n = normIp(ip);
    const t = isIP(n);
    return t !== 0 && trusted.check(n, t === 6 ? 'ipv6' : 'ipv4');
  };

  /** the client's address: the socket's, unless the socket is a trusted proxy */
  const clientIp = (req: IncomingMessage): string => {
    const sock = normIp(req.socket.remoteAddress ?? '');
    if (!isTrusted(sock)) return sock;
    const xff = (req as any).__gh_xff as string | undefined;
    if (!xff) return sock;
    const hops = xff.split(',').map((s) => normIp(s.trim())).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      if (!isIP(hops[i]!)) return sock;
      if (!isTrusted(hops[i]!)) return hops[i]!;
    }
    return hops[0] ?? sock;
  };

  warmPasswordChecker();
  const users_ = users;
  // anti-automation counters: memory, or Redis so that every process counts together
  const limits = new Limits(createStore(config['rate-limits'].store, { logger, metrics: opts.metrics ?? new Metrics({ defaultMetrics: false }) }), logger);
  const auth = new Authenticator(users_, db, config, derive(master, 'lockout'), logger, limits);
  const mailLimit = config['rate-limits'].mail;
  const outbox = await createOutbox(config.email, logger, { admit: async (to) => (await limits.address('mail', to, mailLimit['per-address'], mailLimit.window)).allowed });
  const page = { branding: config.branding, base };
  const logoFile = config.branding.logo ? (isAbsolute(config.branding.logo) ? config.branding.logo : resolve(opts.configDir, config.branding.logo)) : undefined;
  const Adapter = adapterFactory(db);

  if (opts.metrics) {
    const signIns = opts.metrics.counter('gatehouse_identity_sign_ins_total', 'Password sign-ins (grant and page) by result', ['result']);
    const lockouts = opts.metrics.counter('gatehouse_identity_lockouts_total', 'Accounts locked by smart lockout');
    auth.onResult = (result, lockedNow) => { signIns.labels(result).inc(); if (lockedNow) lockouts.inc(); };
  }
  const tokens = opts.metrics?.counter('gatehouse_identity_tokens_issued_total', 'Tokens issued by grant type', ['grant_type']);
  const onTokenIssued = tokens ? (g: string) => tokens.labels(g).inc() : undefined;

  let loaded = await keys.load();
  const build = (k: typeof loaded) => buildProvider({ cfg: config, keys: k, Adapter, users: users_, auth, logger, page, onTokenIssued });
  let provider = await build(loaded);
  let callback = provider.callback();

  const hosted = createHostedPages({ cfg: config, provider: () => provider, users: users_, auth, outbox, logger, page, csrfSecret: derive(master, 'csrf'), logoFile, clientIp, limits });

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const sock = normIp(req.socket.remoteAddress ?? '');
      const h = req.headers;
      const xff = h['x-forwarded-for'];
      for (const name of ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'forwarded', 'x-real-ip']) delete h[name];
      if (isTrusted(sock) && xff) (req as any).__gh_xff = Array.isArray(xff) ? xff.join(',') : xff;
      // every URL the provider generates comes from the issuer, never from the request's Host
      h.host = issuerUrl.host;
      h['x-forwarded-proto'] = issuerUrl.protocol.slice(0, -1);
      h['x-forwarded-for'] = clientIp(req);

      res.setHeader('content-security-policy', PAGE_CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('referrer-policy', 'no-referrer');

      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      if (path !== base && !path.startsWith(base + '/')) {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'not_found', error_description: `the identity provider is at ${base || '/'}` }));
        return;
      }
      const sub = path.slice(base.length) || '/';
      if (await hosted(req, res, sub)) return;
      res.setHeader('content-security-policy', providerCsp());
      (req as any).originalUrl = url;
      req.url = sub + (q === -1 ? '' : url.slice(q));
      await callback(req, res);
    } catch (err) {
      if (err instanceof DatabaseBusy) {
        logger.warn({ path: req.url }, 'identity request refused: the database is locked by another process');
        if (!res.headersSent) {
          res.statusCode = 503;
          res.setHeader('retry-after', String(err.retryAfter));
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ error: err.error, error_description: err.error_description }));
        } else res.destroy();
        return;
      }
      logger.error({ err: (err as Error).message, stack: (err as Error).stack }, 'identity request failed');
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'server_error', error_description: 'internal error' }));
      } else res.destroy();
    }
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;

  // pick up key rotations made by `gatehouse keys rotate` or by another process
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const next = await keys.load();
      if (next.version !== loaded.version) {
        const p = await build(next);
        provider = p;
        callback = p.callback();
        loaded = next;
        logger.info({ active_kid: next.activeKid, published: next.jwks.map((k) => k.kid) }, 'signing keys reloaded');
      }
      scheduleChange();
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'could not reload signing keys');
    } finally {
      polling = false;
    }
  };
  let changeTimer: NodeJS.Timeout | undefined;
  const scheduleChange = () => {
    clearTimeout(changeTimer);
    if (loaded.nextChange !== undefined) {
      const ms = Math.min(Math.max(loaded.nextChange - Date.now() + 50, 50), 2 ** 31 - 1);
      changeTimer = setTimeout(poll, ms);
      changeTimer.unref();
    }
  };
  scheduleChange();
  const pollTimer = setInterval(poll, config.keys['poll-interval'] * 1000);
  pollTimer.unref();
  const cleanup = () => Promise.all([cleanupExpired(db), auth.cleanup()]).catch((err) => logger.warn({ err: (err as Error).message }, 'cleanup of expired rows failed'));
  void cleanup();
  const cleanupTimer = setInterval(cleanup, 10 * 60_000);
  cleanupTimer.unref();

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(config.listen.http, config.listen.host, () => { server.off('error', rej); res(); });
  }).catch(async (e) => { clearInterval(pollTimer); clearInterval(cleanupTimer); clearTimeout(changeTimer); await outbox.close(); await limits.close(); await db.close(); throw e; });
  const port = (server.address() as { port: number }).port;
  opts.logger.info({ listener: 'identity', port }, 'listening');

  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= (async () => {
        clearInterval(pollTimer);
        clearInterval(cleanupTimer);
        clearTimeout(changeTimer);
        await new Promise<void>((r) => { server.close(() => r()); server.closeIdleConnections(); setTimeout(() => server.closeAllConnections(), 2000).unref(); });
        await outbox.close(); // deliver what is queued (bounded), before the database goes
        await limits.close();
        await db.close();
      })();
      return closed;
    },
  };
}
