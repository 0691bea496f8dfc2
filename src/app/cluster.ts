import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import type { Logger } from 'pino';
import { loadConfigFile } from './config.js';
import { ConfigInvalid, formatIssue } from '../config/errors.js';
import { createLogger } from '../observability/logger.js';
import { AccessLog } from '../observability/access-log.js';
import { Metrics } from '../observability/metrics.js';
import { createPortal } from './portal/index.js';
import { Gateway } from '../edge/server.js';
import type { Runtime } from '../gateway/runtime.js';
import type { BackendSnapshot } from '../upstream/backend.js';
import { RecentErrors, type RecentError } from '../gateway/recent-errors.js';
import { configOf, routesOf } from './inspect.js';
import { startAdmin, type AdminSource } from './admin.js';
import { startTracingIfOn } from './tracing.js';
import { startSubscriptionCache } from './subscriptions.js';

/**
 * `gateway.workers` > 1: the primary runs the admin listener (and the identity provider) and
 * forks gateway workers that share the public port (node:cluster); /metrics sums the workers'.
 */

// ---- cluster: primary ----------------------------------------------------------------------

type AdminView = 'backends' | 'routes' | 'config' | 'errors';

interface WorkerMessage { type: 'listening' | 'ready' | 'reloaded' | 'admin'; listeners?: Array<{ name: string; port: number; host: string }>; notReady?: string[]; ok?: boolean; id?: number; answer?: unknown }

/** What the primary's admin listener shows: the workers' readiness and views, the summed metrics. */
function primaryAdmin(notReady: () => Promise<string[]>, ask: (what: AdminView) => Promise<Map<number, unknown>>, aggregator: client.AggregatorRegistry<client.RegistryContentType>): AdminSource & { errors(): Promise<unknown[]> } {
  return {
    notReady,
    metrics: async () => ({ contentType: aggregator.contentType, body: await (await aggregator.clusterMetrics()).toString() }),
    // each worker keeps its own view of health (its own probes and outlier counts): by worker
    backends: async () => Object.fromEntries([...await ask('backends')].map(([id, b]) => [`worker-${id}`, b])),
    // every worker runs the same config: the first answer says it
    routes: async () => [...(await ask('routes')).values()][0] ?? [],
    config: async () => [...(await ask('config')).values()][0] ?? {},
    // each worker keeps its own: merged, newest first
    errors: async () => [...(await ask('errors')).values()].flat().sort((a, b) => String((b as RecentError).at).localeCompare(String((a as RecentError).at))).slice(0, 200),
  };
}

export async function startPrimary(configFile: string, count: number, logger: Logger, adminListen: number | { port: number; host?: string } | undefined, handle?: AdminSource['handle']) {
  const aggregator = new client.AggregatorRegistry();
  const state = new Map<number, { notReady: string[] }>();
  const answers = new Map<number, unknown>();
  /** ask every worker for an admin view; their answers by worker id (50 ms to answer) */
  const ask = async (what: AdminView): Promise<Map<number, unknown>> => {
    answers.clear();
    for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: 'admin?', what });
    await new Promise((r) => setTimeout(r, 50));
    return new Map(answers);
  };
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
      if (m.type === 'admin') answers.set(w.id, m.answer);
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
  const notReady = async (): Promise<string[]> => {
    const workers = Object.values(cluster.workers ?? {});
    for (const w of workers) w?.send({ type: 'ready?' });
    await new Promise((r) => setTimeout(r, 50));
    const out = new Set<string>();
    if (state.size < count) out.add('workers');
    for (const s of state.values()) for (const n of s.notReady) out.add(n);
    return [...out];
  };
  const views = primaryAdmin(notReady, ask, aggregator);
  if (adminListen !== undefined) admin = await startAdmin(adminListen, { ...views, handle }, logger);
  return {
    notReady,
    views,
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

export async function runWorker(configFile: string): Promise<number> {
  const loaded = loadConfigFile(configFile);
  const level = loaded.config.gateway?.log.level;
  const logger = createLogger(level).child({ worker: cluster.worker?.id });
  const metrics = new Metrics();
  const tracing = await startTracingIfOn(loaded.config, logger);
  // constructing an AggregatorRegistry installs prom-client's worker-side listener for the
  // primary's metric requests; setRegistries says which registry to answer with
  new client.AggregatorRegistry();
  client.AggregatorRegistry.setRegistries([metrics.registry]);
  // each worker follows the subscriptions database itself
  const subscriptions = startSubscriptionCache(loaded, { logger, metrics });
  const recentErrors = new RecentErrors();
  // a portal with a listener of its own runs in the primary
  const portal = loaded.config.portal?.listen ? undefined : createPortal(loaded, logger);
  const gateway = await Gateway.create(() => loadConfigFile(configFile), { logger, accessLog: new AccessLog(level), metrics, subscriptions, recentErrors, app: portal }, loaded);
  const listeners = await gateway.listen();
  const send = (m: WorkerMessage) => { try { process.send?.(m); } catch { /* primary gone */ } };
  send({ type: 'listening', listeners, notReady: gateway.runtime.notReady() });
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'ready?') send({ type: 'ready', notReady: gateway.runtime.notReady() });
    if (m?.type === 'admin?') {
      const what = (m as { what?: string }).what;
      const rt = gateway.runtime;
      send({ type: 'admin', answer: what === 'backends' ? backendsOf(rt) : what === 'routes' ? routesOf(rt) : what === 'errors' ? recentErrors.list() : configOf(rt) });
    }
    if (m?.type === 'reload') void gateway.reload().then((ok) => send({ type: 'reloaded', ok }));
  });
  return new Promise<number>((resolve) => {
    process.once('SIGTERM', async () => {
      await gateway.shutdown();
      await tracing?.shutdown();
      await subscriptions?.close();
      await portal?.close();
      logger.flush();
      // the IPC channel to the primary would keep this process alive
      process.disconnect?.();
      resolve(0);
    });
    process.on('SIGINT', () => {}); // the primary decides
    process.on('SIGHUP', () => {});
  });
}

/** Each backend's targets and counters, by name (the admin API's /backends). */
export function backendsOf(rt: Runtime): Record<string, BackendSnapshot> {
  return Object.fromEntries([...rt.backends].map(([name, b]) => [name, b.snapshot()]));
}
