import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import pino from 'pino';
import { loadConfigFile } from './config.js';
import { ConfigInvalid, formatIssue } from '../config/errors.js';
import { createLogger } from '../observability/logger.js';
import { AccessLog } from '../observability/access-log.js';
import { Metrics } from '../observability/metrics.js';
import { watchFile } from '../net/watch-file.js';
import { bindProblem, Gateway } from '../edge/server.js';
import { startAdmin } from './admin.js';
import { compileEdge } from '../edge/compile.js';
import { backendsOf, runWorker, startPrimary } from './cluster.js';
import { configOf, routesOf } from './inspect.js';
import { startTracingIfOn } from './tracing.js';
import { startSubscriptionCache } from './subscriptions.js';
import { createManagement } from './management/index.js';
import { createPortal, listenPortal } from './portal/index.js';
import { createConsole } from './console/index.js';
import type { AdminSource } from './admin.js';
import type { GatewayViews } from './management/services.js';
import { RecentErrors } from '../gateway/recent-errors.js';

/**
 * `gatehouse start`: runs whichever sections the config has — identity, gateway, or both.
 * With `gateway.workers` > 1 the primary runs the admin listener (and the identity provider) and
 * forks gateway workers that share the public port (node:cluster).
 */

type Closer = () => Promise<void>;

export async function start(configFile: string): Promise<number> {
  if (cluster.isWorker) return runWorker(configFile);
  const closers: Closer[] = [];
  try {
    return await run(configFile, closers);
  } catch (err) {
    if (!(err instanceof ConfigInvalid)) throw err;
    // an invalid config at start: print every error, undo what started, exit 1
    process.stderr.write(`gatehouse: invalid config\n${err.issues.map(formatIssue).join('\n')}\n`);
    await Promise.all(closers.map((c) => c().catch(() => {})));
    return 1;
  }
}

async function run(configFile: string, closers: Closer[]): Promise<number> {
  const loaded = loadConfigFile(configFile);
  const cfg = loaded.config;
  if (!cfg.gateway && !cfg.identity) {
    throw new ConfigInvalid([loaded.locate([], cfg.apis.length > 0
      ? 'the APIs need a `gateway` section with a listener to be served, e.g. `gateway: { listen: { http: 8080 } }`'
      : 'the config has neither a `gateway` nor an `identity` section: there is nothing to start (see examples/quickstart/gatehouse.yaml)')]);
  }
  const logger = createLogger(cfg.gateway?.log.level);
  const metrics = new Metrics();
  // first, so that the identity provider and the gateway are traced from their first request
  const tracing = await startTracingIfOn(cfg, logger);
  const located = (path: Array<string | number>, host: string, port: number) => (err: unknown) => {
    const why = bindProblem(err as NodeJS.ErrnoException, host, port);
    throw why === undefined ? err : new ConfigInvalid([loaded.locate(path, why)]);
  };

  if (cfg.identity) {
    const { startIdentity } = await import('../identity/index.js');
    // buffered: the provider writes an audit line per token (synchronous writes cost ~10% of its CPU)
    const idLogger = createLogger(cfg.gateway?.log.level, { sync: false }).child({ component: 'identity' });
    const listen = cfg.identity.listen as { http: number; host?: string };
    const idp = await startIdentity(cfg.identity, { configDir: loaded.dir, logger: idLogger, metrics })
      .catch(located(['identity', 'listen', 'http'], listen.host ?? '127.0.0.1', listen.http));
    idLogger.flush();
    closers.push(async () => { await idp.close(); idLogger.flush(); });
  }

  if (cfg.portal?.listen) {
    const listen = cfg.portal.listen;
    const portal = createPortal(loaded, logger);
    if (portal) {
      const server = await listenPortal(portal, listen, logger).catch(located(['portal', 'listen', 'http'], listen.host, listen.http));
      closers.push(async () => { const closed = new Promise<void>((r) => server.close(() => r())); server.closeAllConnections(); await closed; await portal.close(); });
    }
  }

  let reload: () => Promise<void> = async () => {};
  let notReady: () => string[] | Promise<string[]> = () => [];
  if (cfg.gateway) {
    const workers = cfg.gateway.workers === 'auto' ? availableParallelism() : cfg.gateway.workers;
    if (workers > 1) {
      // compile once here, so an invalid config stops the start instead of looping in workers
      const dry = await compileEdge(loaded, { logger: pino({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }) });
      await dry.close();
      // the workers' views, once they are forked
      let views: GatewayViews = {};
      const management = adminApps(loaded, logger, {
        backends: () => views.backends?.(), routes: () => views.routes?.(), config: () => views.config?.(), errors: async () => (await views.errors?.()) ?? [],
      });
      const primary = await startPrimary(configFile, workers, logger, cfg.gateway.admin?.listen, management?.handle);
      views = primary.views;
      closers.push(primary.close);
      if (management) closers.push(management.close);
      reload = primary.reload;
      notReady = primary.notReady;
    } else {
      ({ reload, notReady } = await startSingle(configFile, loaded, { logger, metrics }, closers, located));
    }
  }

  // last: what the others did while stopping is exported too
  if (tracing) closers.push(() => tracing.shutdown());
  const watcher = cfg.gateway?.['watch-config'] !== false ? watchConfig(configFile, () => void reload(), logger) : undefined;
  const announcing = announceReady(notReady, logger);
  closers.unshift(async () => announcing.stop());
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      watcher?.close();
      for (const c of closers) {
        try { await c(); } catch (err) { logger.error({ err }, 'error while shutting down'); }
      }
      logger.info('stopped');
      logger.flush();
      resolve(typeof process.exitCode === 'number' ? process.exitCode : 0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => { logger.info('SIGHUP: reloading config'); void reload(); });
  });
}

type Located = (path: Array<string | number>, host: string, port: number) => (err: unknown) => never;

/** One gateway process: the subscriptions cache, the gateway, the admin listener with the management API. */
async function startSingle(configFile: string, loaded: ReturnType<typeof loadConfigFile>, deps: { logger: Logger; metrics: Metrics }, closers: Closer[], located: Located): Promise<{ reload: () => Promise<void>; notReady: () => string[] }> {
  const { logger, metrics } = deps;
  const cfg = loaded.config;
  const gw = cfg.gateway!;
  const subscriptions = startSubscriptionCache(loaded, { logger, metrics });
  if (subscriptions) closers.push(() => subscriptions.close());
  const recentErrors = new RecentErrors();
  const portal = cfg.portal?.listen ? undefined : createPortal(loaded, logger);
  if (portal) closers.push(() => portal.close());
  const gateway = await Gateway.create(() => loadConfigFile(configFile), { logger, accessLog: new AccessLog(gw.log.level), metrics, subscriptions, recentErrors, app: portal }, loaded);
  const management = adminApps(loaded, logger, {
    backends: () => backendsOf(gateway.runtime), routes: () => routesOf(gateway.runtime), config: () => configOf(gateway.runtime), errors: () => recentErrors.list(),
  });
  if (management) closers.push(management.close);
  for (const l of await gateway.listen()) logger.info({ listener: l.name, port: l.port, host: l.host }, 'listening');
  if (gw.admin) {
    const listen = gw.admin.listen;
    const admin = await startAdmin(listen, {
      notReady: () => gateway.runtime.notReady(),
      backends: () => backendsOf(gateway.runtime),
      routes: () => routesOf(gateway.runtime),
      config: () => configOf(gateway.runtime),
      details: () => subscriptionDetails(subscriptions),
      handle: management?.handle,
      metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    }, logger).catch(located(['gateway', 'admin', 'listen'], typeof listen === 'number' ? '127.0.0.1' : listen.host ?? '127.0.0.1', typeof listen === 'number' ? listen : listen.port));
    closers.unshift(() => new Promise<void>((r) => admin.close(() => r())));
  }
  closers.unshift(() => gateway.shutdown());
  return { reload: async () => { await gateway.reload(); }, notReady: () => gateway.runtime.notReady() };
}

/** What the admin listener serves besides its own routes: the management API and the admin console. */
function adminApps(loaded: ReturnType<typeof loadConfigFile>, logger: Logger, views: GatewayViews): { handle: NonNullable<AdminSource['handle']>; close: Closer } | undefined {
  const management = createManagement(loaded, logger, { views });
  const console = createConsole(loaded);
  if (!management && !console) return undefined;
  return {
    handle: async (req, res) => (console?.handle(req, res) ?? false) || (await management?.handle(req, res)) === true,
    close: async () => { await management?.close(); },
  };
}

/** /readyz's word on subscriptions: served from a stale copy while the database cannot be read. */
function subscriptionDetails(cache: ReturnType<typeof startSubscriptionCache>): Record<string, unknown> | undefined {
  if (!cache) return undefined;
  const stale = cache.stale();
  if (!stale) return { subscriptions: cache.loaded() ? 'current' : 'loading' };
  return { subscriptions: { state: cache.loaded() ? 'stale' : 'unavailable', since: new Date(stale.since).toISOString(), reason: stale.reason } };
}

/** Watch the config file (atomic replacements included, as editors and Kubernetes do); debounced. */
function watchConfig(file: string, onChange: () => void, logger: Logger): { close(): void } {
  return watchFile(file, () => { logger.info('config file changed: reloading'); onChange(); }, { logger, what: 'the config file', debounceMs: 250 });
}

/**
 * One `ready` line, once every listener is up and nothing is waited for any more (token keys
 * loaded, counter store answering): what scripts and `npm start` wait for. While waiting, a line
 * every ten seconds says what for.
 */
function announceReady(notReady: () => string[] | Promise<string[]>, logger: Logger): { stop(): void } {
  const since = Date.now();
  let lastSaid = since;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    const waiting = await notReady();
    if (waiting.length === 0) {
      logger.info({ startupMs: Date.now() - since }, 'ready');
      return;
    }
    if (Date.now() - lastSaid >= 10_000) {
      lastSaid = Date.now();
      logger.info({ waitingFor: waiting }, 'not ready yet');
    }
    timer = setTimeout(() => void check(), 100);
  };
  void check();
  return { stop: () => clearTimeout(timer) };
}
