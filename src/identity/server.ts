import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';
import { adapterFactory, cleanupExpired } from './adapter.js';
import { Authenticator } from './accounts.js';
import { passwordConnector } from './connectors/password.js';
import { createOutbox } from './email.js';
import { Federation } from './federation/index.js';
import { derive } from './keys.js';
import { providerForKeys } from './key-reload.js';
import { providerCsp } from './pages/layout.js';
import { inLanguage } from './i18n/index.js';
import { brandedPages } from './i18n/load.js';
import { createHostedPages } from './pages/index.js';
import { warmPasswordChecker } from './passwords.js';
import { buildProvider } from './provider.js';
import { Limits } from './ratelimit.js';
import { admit, compileTrustedProxies, failed, mounted } from './request.js';
import { openIdentity } from './services.js';
import { defaultSteps } from './steps/index.js';
import { Mfa } from './mfa/index.js';
import type { InteractionStep } from './steps/step.js';
import { createStore } from '../state/index.js';
import { Metrics } from '../observability/metrics.js';
import { tracer } from '../observability/tracing.js';

export interface RunningIdentity {
  port: number;
  close(): Promise<void>;
}

export interface IdentityOptions {
  /** where relative paths of the config (database, logo) start */
  configDir: string;
  logger: Logger;
  metrics?: Metrics;
  /** the interaction steps after sign-in, in order (default: steps/index.ts) */
  steps?: readonly InteractionStep[];
}

/**
 * Start the identity provider: oidc-provider mounted at the issuer's path, the hosted pages
 * beside it, on its own listener (loopback by default). Logs one `listening` line.
 */
export async function startIdentity(config: IdentityConfig, opts: IdentityOptions): Promise<RunningIdentity> {
  const logger = opts.logger.bindings().component === 'identity' ? opts.logger : opts.logger.child({ component: 'identity' });
  const issuer = new URL(config.issuer);
  const base = issuer.pathname.replace(/\/+$/, '');
  const trusted = compileTrustedProxies(config['trusted-proxies']);
  const { db, users, keys, master } = await openIdentity(config, opts.configDir);
  warmPasswordChecker();
  // anti-automation counters: memory, or Redis so that every process counts together
  const limits = new Limits(createStore(config['rate-limits'].store, { logger, metrics: opts.metrics ?? new Metrics({ defaultMetrics: false }) }), logger);
  const auth = new Authenticator(users, db, config, derive(master, 'lockout'), logger, limits);
  const password = passwordConnector(auth);
  const mailLimit = config['rate-limits'].mail;
  const outbox = await createOutbox(config.email, logger, { admit: async (to) => (await limits.address('mail', to, mailLimit['per-address'], mailLimit.window)).allowed });
  const { page, i18n, logoFile, customCss } = brandedPages(config.branding, base, opts.configDir);
  const Adapter = adapterFactory(db);
  const onTokenIssued = instrument(auth, opts.metrics);
  const mfa = new Mfa(config, db, master, limits, logger, { users, outbox });
  const steps = opts.steps ?? await defaultSteps(mfa, users);

  const federation = config.federation.length ? new Federation(config, db, users, logger, base, undefined, opts.configDir) : undefined;
  const afterLogout = federation && ((accountId: string | undefined, amr: unknown, next: string) => federation.samlLogoutStart(accountId, amr, next));
  const current = await providerForKeys(keys, (k) => buildProvider({ cfg: config, keys: k, Adapter, users, password, logger, page, steps, mfa, onTokenIssued, afterLogout }), logger, config.keys['poll-interval']);
  const pages = createHostedPages({ cfg: config, provider: current.provider, users, password, steps, outbox, logger, page, csrfSecret: derive(master, 'csrf'), logoFile, limits, federation, passkeys: mfa.passkeysOn ? mfa.passkeys : undefined, db, mfa, customCssFile: customCss });

  // every page and mail of a request is in the language the browser asks for (an interaction's ui_locales refines it)
  const handle = (req: IncomingMessage, res: ServerResponse) => inLanguage(i18n.choose(undefined, req.headers['accept-language']), () => serve(req, res));
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      admit(req, res, issuer, trusted);
      const at = mounted(req, res, base);
      if (!at) return;
      if (await pages(req, res, at.path)) return;
      res.setHeader('content-security-policy', providerCsp());
      // oidc-provider finds its mount path from originalUrl
      Object.assign(req, { originalUrl: req.url });
      req.url = at.path + at.query;
      await current.callback()(req, res);
    } catch (err) {
      failed(logger, req, res, err);
    }
  };
  const server = createServer((req, res) => {
    const span = tracer()?.incoming(req.method ?? 'GET', req.headers, { 'http.request.method': req.method, 'url.path': (req.url ?? '').split('?')[0], 'url.scheme': 'http' });
    if (span === undefined) return void handle(req, res);
    res.once('close', () => {
      span.set('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.fail(String(res.statusCode));
      span.end();
    });
    void span.run(() => handle(req, res));
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;

  const cleanup = () => Promise.all([cleanupExpired(db), auth.cleanup(), mfa.passkeys.cleanup()]).catch((err) => logger.warn({ err: (err as Error).message }, 'cleanup of expired rows failed'));
  void cleanup();
  const cleanupTimer = setInterval(cleanup, 10 * 60_000);
  cleanupTimer.unref();
  const stopTimers = () => { current.close(); clearInterval(cleanupTimer); federation?.close(); };
  const release = async () => {
    await outbox.close(); // deliver what is queued (bounded), before the database goes
    await limits.close();
    await db.close();
  };

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(config.listen.http, config.listen.host, () => { server.off('error', rej); res(); });
  }).catch(async (e) => { stopTimers(); await release(); throw e; });
  const port = (server.address() as { port: number }).port;
  opts.logger.info({ listener: 'identity', port }, 'listening');

  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= (async () => {
        stopTimers();
        await new Promise<void>((r) => { server.close(() => r()); server.closeIdleConnections(); setTimeout(() => server.closeAllConnections(), 2000).unref(); });
        await release();
      })();
      return closed;
    },
  };
}

/** Sign-in, lockout and token counters on the metrics registry; returns the token counter's hook. */
function instrument(auth: Authenticator, metrics: Metrics | undefined): ((grantType: string) => void) | undefined {
  if (!metrics) return undefined;
  const signIns = metrics.counter('gatehouse_identity_sign_ins_total', 'Password sign-ins (grant and page) by result', ['result']);
  const lockouts = metrics.counter('gatehouse_identity_lockouts_total', 'Accounts locked by smart lockout');
  auth.onResult = (result, lockedNow) => { signIns.labels(result).inc(); if (lockedNow) lockouts.inc(); };
  const tokens = metrics.counter('gatehouse_identity_tokens_issued_total', 'Tokens issued by grant type', ['grant_type']);
  return (g) => tokens.labels(g).inc();
}
