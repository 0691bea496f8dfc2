import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { listenOn } from '../edge/server.js';
import { versionInfo } from './inspect.js';

/**
 * The admin listener: /healthz (the process is up), /readyz (config, keys and stores are loaded;
 * it also reports the backends), /backends (each backend's targets: health, ejection, requests in
 * flight and waiting), /routes (host and path → API → operation → policy chain), /config (the
 * effective configuration, secrets redacted), /version, /metrics (Prometheus), and the management
 * API (/management/..., see management/) when the config uses subscriptions. Never on the public port; binds 127.0.0.1 unless
 * told otherwise. Unhealthy backends do not make the gateway unready: taking every gateway out of
 * a load balancer because one backend is down would turn a partial outage into a whole one.
 */
export interface AdminSource {
  /** names of the things that are not ready yet (empty = ready) */
  notReady(): string[] | Promise<string[]>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** each backend's state, by name (per worker when there are workers) */
  backends?(): unknown | Promise<unknown>;
  /** host and path → API → operation → policy chain */
  routes?(): unknown | Promise<unknown>;
  /** the effective configuration, secrets redacted */
  config?(): unknown | Promise<unknown>;
  /** more of /readyz: states that do not make the process unready (subscriptions served from a stale copy) */
  details?(): Record<string, unknown> | undefined;
  /** more routes (the management API): true when it answered the request */
  handle?(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export async function startAdmin(listen: number | { port: number; host?: string }, source: AdminSource, logger: Logger): Promise<Server> {
  const port = typeof listen === 'number' ? listen : listen.port;
  const host = typeof listen === 'number' ? '127.0.0.1' : listen.host ?? '127.0.0.1';
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (source.handle && await source.handle(req, res)) return;
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else if (path === '/readyz') {
        const waiting = await source.notReady();
        const backends = source.backends ? summary(await source.backends()) : undefined;
        const details = source.details?.();
        res.writeHead(waiting.length ? 503 : 200, { 'content-type': 'application/json' })
          .end(JSON.stringify(waiting.length ? { status: 'not-ready', waitingFor: waiting, backends, ...details } : { status: 'ready', backends, ...details }));
      } else if (path === '/backends' && source.backends) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await source.backends()));
      } else if (path === '/routes' && source.routes) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await source.routes()));
      } else if (path === '/config' && source.config) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await source.config()));
      } else if (path === '/version') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(versionInfo()));
      } else if (path === '/metrics') {
        const m = await source.metrics();
        res.writeHead(200, { 'content-type': m.contentType }).end(m.body);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"not-found"}');
      }
    } catch (err) {
      logger.error({ err }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await listenOn(server, port, host);
  logger.info({ listener: 'admin', port: (server.address() as AddressInfo).port, host }, 'listening');
  return server;
}

/** /readyz's short view of the backends: targets healthy of all, per backend. */
function summary(backends: unknown): Record<string, string> | undefined {
  if (backends === null || typeof backends !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [name, b] of Object.entries(backends as Record<string, { healthy?: number; targets?: unknown[] }>)) {
    if (b && typeof b.healthy === 'number' && Array.isArray(b.targets)) out[name] = `${b.healthy}/${b.targets.length} healthy`;
  }
  return out;
}
