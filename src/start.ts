import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import client from 'prom-client';
import type { Logger } from 'pino';
import { loadConfigFile } from './config/loader.js';
import { ConfigInvalid, formatIssue } from './config/errors.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { Gateway } from './gateway/server.js';
import { startAdmin, type AdminSource } from './gateway/admin.js';
import { buildRuntime } from './gateway/runtime.js';
import pino from 'pino';

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
    const { startIdentity } = await import('./identity/index.js');
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
      const dry = await buildRuntime(loaded, { logger: pino({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }) });
      await dry.close();
      const primary = await startPrimary(configFile, workers, logger, cfg.gateway.admin?.listen);
      closers.push(primary.close);
      reload = primary.reload;
    } else {
      const gateway = await Gateway.create(configFile, { logger, accessLog: createLogger(cfg.gateway.log.level, { sync: false, access: true }), metrics });
      for (const l of await gateway.listen()) logger.info({ listener: l.name, port: l.port, host: l.host }, 'listening');
      if (cfg.gateway.admin) {
        const admin = await startAdmin(cfg.gateway.admin.listen, {
          notReady: () => gateway.runtime.notReady(),
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

/** Watch the config file (and its folder, for editors that replace the file); debounced. */
function watchConfig(file: string, onChange: () => void, logger: Logger): FSWatcher | undefined {
  let timer: NodeJS.Timeout | undefined;
  try {
    const name = basename(file);
    const w = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => { logger.info('config file changed: reloading'); onChange(); }, 250);
    });
    w.on('error', () => {});
    w.unref();
    return w;
  } catch (err) {
    logger.warn({ err }, 'cannot watch the config file; reload with SIGHUP');
    return undefined;
  }
}

// ---- cluster: primary ----------------------------------------------------------------------

interface WorkerMessage { type: 'listening' | 'ready' | 'reloaded'; listeners?: Array<{ name: string; port: number; host: string }>; notReady?: string[]; ok?: boolean; id?: number }

async function startPrimary(configFile: string, count: number, logger: Logger, adminListen: number | { port: number; host?: string } | undefined) {
  const aggregator = new client.AggregatorRegistry();
  const state = new Map<number, { notReady: string[] }>();
  let announced = false;
  let stopping = false;
  const listening = new Set<number>();
  const fork = () => {
    const w = cluster.fork({ GATEHOUSE_WORKERS: String(count) });
    state.set(w.id, { notReady: ['worker-starting'] });
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'listening') listening.add(w.id);
      if (m.type === 'listening' && m.listeners && !announced) {
        announced = true;
        for (const l of m.listeners) logger.info({ listener: l.name, port: l.port, host: l.host, workers: count }, 'listening');
      }
      if (m.type === 'ready' || m.type === 'listening') state.set(w.id, { notReady: m.notReady ?? [] });
    });
    return w;
  };
  cluster.setupPrimary({ args: ['start', '--config', configFile] });
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (w: Worker, code) => {
    state.delete(w.id);
    if (!stopping && !listening.has(w.id)) {
      // a worker that could not start will not start on a retry either
      logger.fatal({ worker: w.id, code }, 'a gateway worker failed to start; stopping');
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.kill(process.pid, 'SIGTERM');
      process.exitCode = 1;
      return;
    }
    if (!stopping) {
      logger.error({ worker: w.id, code }, 'gateway worker exited; starting a new one');
      fork();
    }
  });
  let admin: import('node:http').Server | undefined;
  if (adminListen !== undefined) {
    const source: AdminSource = {
      notReady: async () => {
        const workers = Object.values(cluster.workers ?? {});
        for (const w of workers) w?.send({ type: 'ready?' });
        await new Promise((r) => setTimeout(r, 50));
        const out = new Set<string>();
        if (state.size < count) out.add('workers');
        for (const s of state.values()) for (const n of s.notReady) out.add(n);
        return [...out];
      },
      metrics: async () => ({ contentType: aggregator.contentType, body: await (await aggregator.clusterMetrics()).toString() }),
    };
    admin = await startAdmin(adminListen, source, logger);
  }
  return {
    reload: async () => {
      try {
        loadConfigFile(configFile);
      } catch (err) {
        if (err instanceof ConfigInvalid) logger.error({ errors: err.issues.map(formatIssue) }, 'config reload refused; the previous config keeps serving');
        return;
      }
      for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: 'reload' });
    },
    close: async () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      await Promise.all(workers.map((w) => new Promise<void>((r) => { w.once('exit', () => r()); w.process.kill('SIGTERM'); })));
      if (admin) await new Promise<void>((r) => admin!.close(() => r()));
    },
  };
}

// ---- cluster: worker -----------------------------------------------------------------------

async function runWorker(configFile: string): Promise<number> {
  const loaded = loadConfigFile(configFile);
  const level = loaded.config.gateway?.log.level;
  const logger = createLogger(level).child({ worker: cluster.worker?.id });
  const metrics = new Metrics();
  // constructing an AggregatorRegistry installs prom-client's worker-side listener for the
  // primary's metric requests; setRegistries says which registry to answer with
  new client.AggregatorRegistry();
  client.AggregatorRegistry.setRegistries([metrics.registry]);
  const gateway = await Gateway.create(configFile, { logger, accessLog: createLogger(level, { sync: false, access: true }), metrics });
  const listeners = await gateway.listen();
  const send = (m: WorkerMessage) => { try { process.send?.(m); } catch { /* primary gone */ } };
  send({ type: 'listening', listeners, notReady: gateway.runtime.notReady() });
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'ready?') send({ type: 'ready', notReady: gateway.runtime.notReady() });
    if (m?.type === 'reload') void gateway.reload().then((ok) => send({ type: 'reloaded', ok }));
  });
  return new Promise<number>((resolve) => {
    process.once('SIGTERM', async () => {
      await gateway.shutdown();
      logger.flush();
      // the IPC channel to the primary would keep this process alive
      process.disconnect?.();
      resolve(0);
    });
    process.on('SIGINT', () => {}); // the primary decides
    process.on('SIGHUP', () => {});
  });
}
