import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import pino from 'pino';
import { loadConfigFile } from './config.js';
import { gatewaySchema } from './schema.js';
import { ConfigInvalid, formatIssue } from '../config/errors.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { watchFile } from '../net/watch-file.js';
import { Gateway } from '../edge/server.js';
import { startAdmin } from './admin.js';
import { buildRuntime } from '../gateway/compile/index.js';
import { backendsOf, runWorker, startPrimary } from './cluster.js';

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
  const logger = createLogger(cfg.gateway?.log.level);
  const metrics = new Metrics();

  if (cfg.identity) {
    const { startIdentity } = await import('../identity/index.js');
    // buffered: the provider writes an audit line per token (synchronous writes cost ~10% of its CPU)
    const idLogger = createLogger(cfg.gateway?.log.level, { sync: false }).child({ component: 'identity' });
    const idp = await startIdentity(cfg.identity, { configDir: loaded.dir, logger: idLogger, metrics });
    idLogger.flush();
    closers.push(async () => { await idp.close(); idLogger.flush(); });
  }

  let reload: () => Promise<void> = async () => {};
  if (cfg.gateway) {
    const workers = cfg.gateway.workers === 'auto' ? availableParallelism() : cfg.gateway.workers;
    if (workers > 1) {
      // compile once here, so an invalid config stops the start instead of looping in workers
      const dry = await buildRuntime(loaded, { logger: pino({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }) }, gatewaySchema.parse({}));
      await dry.close();
      const primary = await startPrimary(configFile, workers, logger, cfg.gateway.admin?.listen);
      closers.push(primary.close);
      reload = primary.reload;
    } else {
      const gateway = await Gateway.create(() => loadConfigFile(configFile), { logger, accessLog: createLogger(cfg.gateway.log.level, { sync: false, access: true }), metrics }, loaded);
      for (const l of await gateway.listen()) logger.info({ listener: l.name, port: l.port, host: l.host }, 'listening');
      if (cfg.gateway.admin) {
        const admin = await startAdmin(cfg.gateway.admin.listen, {
          notReady: () => gateway.runtime.notReady(),
          backends: () => backendsOf(gateway.runtime),
          metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
        }, logger);
        closers.unshift(() => new Promise<void>((r) => admin.close(() => r())));
      }
      closers.unshift(() => gateway.shutdown());
      reload = async () => { await gateway.reload(); };
    }
  }

  const watcher = cfg.gateway?.['watch-config'] !== false ? watchConfig(configFile, () => void reload(), logger) : undefined;
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

/** Watch the config file (atomic replacements included, as editors and Kubernetes do); debounced. */
function watchConfig(file: string, onChange: () => void, logger: Logger): { close(): void } {
  return watchFile(file, () => { logger.info('config file changed: reloading'); onChange(); }, { logger, what: 'the config file', debounceMs: 250 });
}
