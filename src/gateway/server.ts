import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { loadConfigFile } from '../config/loader.js';
import { ConfigInvalid, formatIssue } from '../config/errors.js';
import type { Metrics } from '../observability/metrics.js';
import { handleRequest, type GatewayContext } from './lifecycle.js';
import { renderProblem, PROBLEM_CONTENT_TYPE, statusTitle } from './reply.js';
import { buildRuntime, DEFAULT_GATEWAY, type Runtime } from './runtime.js';
import { handleUpgrade } from './upgrade.js';

/**
 * The gateway process: public listener(s), admin listener, atomic reload, graceful shutdown.
 * Requests capture the runtime they started with, so a reload never changes a request mid-way.
 */

export interface ListenerInfo { name: string; port: number; host: string }

export class Gateway {
  private ctx: GatewayContext;
  private servers: Array<{ name: string; server: Server }> = [];
  private readonly sockets = new Set<Socket>();
  private draining = false;

  private constructor(
    runtime: Runtime,
    readonly logger: Logger,
    readonly accessLog: Logger | undefined,
    readonly metrics: Metrics,
    private readonly configFile: string,
  ) {
    this.ctx = { runtime, logger, accessLog, metrics, protocol: 'http' };
  }

  static async create(configFile: string, deps: { logger: Logger; accessLog?: Logger; metrics: Metrics }): Promise<Gateway> {
    const loaded = loadConfigFile(configFile);
    const runtime = await buildRuntime(loaded, { logger: deps.logger, metrics: deps.metrics });
    return new Gateway(runtime, deps.logger, runtime.gateway.log.access ? deps.accessLog : undefined, deps.metrics, configFile);
  }

  get runtime(): Runtime { return this.ctx.runtime; }

  /** Start the public listeners. Resolves with what is listening. */
  async listen(): Promise<ListenerInfo[]> {
    const g = this.runtime.gateway;
    const out: ListenerInfo[] = [];
    const http = g.listen.http;
    if (http !== undefined) {
      const port = typeof http === 'number' ? http : http.port;
      const host = typeof http === 'number' ? g.listen.host : http.host ?? g.listen.host;
      const server = this.createHttpServer();
      await listenOn(server, port, host);
      const info = { name: 'http', port: (server.address() as AddressInfo).port, host };
      this.servers.push({ name: 'http', server });
      out.push(info);
    }
    return out;
  }

  private createHttpServer(): Server {
    const limits = this.runtime.gateway.limits;
    const server = createServer({
      maxHeaderSize: limits['max-header-size'],
      requestTimeout: limits['request-timeout'] * 1000,
      headersTimeout: limits['header-timeout'] * 1000,
      keepAliveTimeout: limits['keep-alive-timeout'] * 1000,
      // llhttp strictness: refuse obs-fold, bad header bytes, CL+TE etc. (insecureHTTPParser stays off)
      insecureHTTPParser: false,
      requireHostHeader: true,
      joinDuplicateHeaders: false,
    });
    server.maxConnections = limits['max-connections'];
    server.maxRequestsPerSocket = limits['max-requests-per-socket'];
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) res.shouldKeepAlive = false;
      handleRequest(this.ctx, req, res).catch((err) => this.logger.error({ err }, 'request handler failed'));
    };
    server.on('request', onRequest);
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      handleRequest(this.ctx, req, res, true).catch((err) => this.logger.error({ err }, 'request handler failed'));
    });
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      writeProblemOnResponse(res, 417, 'expectation-failed', 'Only "Expect: 100-continue" is supported.');
      req.resume();
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      handleUpgrade(this.ctx, req, socket, head).catch((err) => {
        this.logger.error({ err }, 'upgrade failed');
        socket.destroy();
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => clientError(err, socket, this.logger));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    return server;
  }

  /** Reload the config file. On error the old config keeps serving and the errors are logged. */
  async reload(): Promise<boolean> {
    let next: Runtime;
    const old = this.ctx.runtime;
    try {
      const loaded = loadConfigFile(this.configFile);
      next = await buildRuntime(loaded, { logger: this.logger, metrics: this.metrics, store: old.storeRef });
    } catch (err) {
      if (err instanceof ConfigInvalid) {
        this.logger.error({ errors: err.issues.map(formatIssue) }, 'config reload refused; the previous config keeps serving');
      } else {
        this.logger.error({ err }, 'config reload failed; the previous config keeps serving');
      }
      return false;
    }
    const keepStore = next.storeRef !== undefined && next.storeRef === old.storeRef;
    this.ctx = { ...this.ctx, runtime: next, accessLog: next.gateway.log.access ? this.accessLog : undefined };
    this.logger.info({ apis: next.apis.length }, 'config reloaded');
    // in-flight requests hold the old runtime; close its pools once they had time to finish
    setTimeout(() => { void old.close({ keepStore }); }, (old.gateway['shutdown-timeout'] + 1) * 1000).unref();
    return true;
  }

  /** Stop accepting, let in-flight requests finish (up to the deadline), close everything. */
  async shutdown(): Promise<void> {
    this.draining = true;
    const deadline = this.runtime.gateway['shutdown-timeout'] * 1000;
    const closed = Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    for (const { server } of this.servers) server.closeIdleConnections();
    const timer = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, deadline);
    await closed;
    clearTimeout(timer);
    await this.runtime.close();
  }
}

export function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function writeProblemOnResponse(res: ServerResponse, status: number, code: string, detail: string): void {
  const requestId = randomUUID();
  res.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': requestId, connection: 'close' });
  res.end(renderProblem({ code, title: statusTitle(status), detail }, status, requestId));
}

/** Node's parser refused the request: answer with problem+json (it would send a bare 400). */
export function clientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket, logger: Logger): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  let status = 400;
  let code = 'request-malformed';
  let detail = 'The request could not be parsed.';
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': {
      // still on the request line → the URL is what is too long
      const packet = err.rawPacket?.toString('latin1') ?? '';
      if (!packet.includes('\r\n') && !packet.includes('\n')) { status = 414; code = 'url-too-long'; detail = 'The request target is too long.'; }
      else { status = 431; code = 'headers-too-large'; detail = 'The request headers are too large.'; }
      break;
    }
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      code = 'request-ambiguous';
      detail = 'The request framing is ambiguous (Content-Length / Transfer-Encoding).';
      break;
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
      code = 'request-malformed';
      detail = 'The request has an invalid header or framing.';
      break;
    case 'HPE_INVALID_METHOD':
      status = 400; code = 'method-invalid'; detail = 'The request method is not valid.';
      break;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      status = 408; code = 'request-timeout'; detail = 'The request was not received in time.';
      break;
    case 'ECONNRESET':
      socket.destroy();
      return;
  }
  logger.debug({ code: err.code, status }, 'client error');
  const requestId = randomUUID();
  const body = renderProblem({ code, title: statusTitle(status), detail }, status, requestId);
  socket.end(
    `HTTP/1.1 ${status} ${statusTitle(status)}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export { DEFAULT_GATEWAY };
