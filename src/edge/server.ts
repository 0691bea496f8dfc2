import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/loader.js';
import { ConfigInvalid, formatIssue } from '../config/errors.js';
import type { AccessLog } from '../observability/access-log.js';
import type { Metrics } from '../observability/metrics.js';
import { handleRequest, type GatewayContext, type ListenerContext } from '../gateway/lifecycle.js';
import { requestHost } from '../gateway/ingress.js';
import { normalizeTarget } from '../gateway/normalize.js';
import { CertificateSet } from './tls.js';
import type { EdgeSection, HttpsListenerConfig } from './schema.js';
import { renderProblem, PROBLEM_CONTENT_TYPE, statusTitle } from '../gateway/reply.js';
import { problem, type ProblemCode } from '../gateway/problems.js';
import { compileEdge, type EdgeFile } from './compile.js';
import type { SubscriptionSource } from '../gateway/subscriptions/source.js';
import type { Runtime } from '../gateway/runtime.js';
import { handleUpgrade } from './upgrade.js';
import { loadClientTrust } from '../gateway/mtls/trust.js';
import { answerAndClose, guardHttp1OverTls, guardHttp2Session, requestStarted } from './connections.js';
import type { TLSSocket } from 'node:tls';
import type { RecentErrors } from '../gateway/recent-errors.js';

/**
 * The gateway process: public listener(s), admin listener, atomic reload, graceful shutdown.
 * Requests capture the runtime they started with, so a reload never changes a request mid-way.
 */

export interface ListenerInfo { name: string; port: number; host: string }

/** How the edge (re)loads its config file. */
export type LoadEdgeConfig = () => LoadedConfig<EdgeFile>;
export type { EdgeFile };

export class Gateway {
  private ctx: GatewayContext;
  private servers: Array<{ name: string; server: Server | Http2SecureServer }> = [];
  private certSets: CertificateSet[] = [];
  private readonly sockets = new Set<Socket>();
  private draining = false;

  private rt: Runtime<EdgeSection>;

  private constructor(
    runtime: Runtime<EdgeSection>,
    readonly logger: Logger,
    readonly accessLog: AccessLog | undefined,
    readonly metrics: Metrics,
    private readonly load: LoadEdgeConfig,
    private readonly subscriptions: SubscriptionSource | undefined,
    readonly recentErrors: RecentErrors | undefined,
  ) {
    this.rt = runtime;
    this.ctx = { runtime, logger, accessLog, metrics, recentErrors };
    this.connectionsClosed = metrics.counter('gatehouse_connections_closed_total', 'Client connections closed by a protection (no request in time, HTTP/2 rapid reset, ...)', ['reason']);
  }

  private readonly connectionsClosed: { labels(reason: string): { inc(): void } };

  /** Compile `loaded` (or what `load` returns); `load` reads the file again on reload. */
  static async create(load: LoadEdgeConfig, deps: { logger: Logger; accessLog?: AccessLog; metrics: Metrics; subscriptions?: SubscriptionSource; recentErrors?: RecentErrors; app?: PublicApp }, loaded: LoadedConfig<EdgeFile> = load()): Promise<Gateway> {
    const runtime = await compileEdge(loaded, { logger: deps.logger, metrics: deps.metrics, subscriptions: deps.subscriptions });
    const gw = new Gateway(runtime, deps.logger, runtime.gateway.log.access ? deps.accessLog : undefined, deps.metrics, load, deps.subscriptions, deps.recentErrors);
    gw.app = deps.app;
    return gw;
  }

  /** the app served by this process under a path of its own (the developer portal) */
  private app: PublicApp | undefined;

  get runtime(): Runtime<EdgeSection> { return this.rt; }

  /** Start the public listeners (HTTPS first, so a redirecting HTTP listener knows its port). */
  async listen(): Promise<ListenerInfo[]> {
    const g = this.runtime.gateway;
    const out: ListenerInfo[] = [];
    const https = g.listen.https === undefined ? [] : Array.isArray(g.listen.https) ? g.listen.https : [g.listen.https];
    const hsts = g.hsts
      ? `max-age=${Math.floor(g.hsts['max-age'])}${g.hsts['include-subdomains'] ? '; includeSubDomains' : ''}${g.hsts.preload ? '; preload' : ''}`
      : undefined;
    for (const [i, l] of https.entries()) {
      const name = l.name ?? (i === 0 ? 'https' : `https-${i + 1}`);
      const host = l.host ?? g.listen.host;
      const server = this.createHttpsServer(l, name, hsts);
      await this.bind(server, l.port, host, Array.isArray(g.listen.https) ? ['gateway', 'listen', 'https', i, 'port'] : ['gateway', 'listen', 'https', 'port']);
      this.servers.push({ name, server });
      out.push({ name, port: (server.address() as AddressInfo).port, host });
    }
    const http = g.listen.http;
    if (http !== undefined) {
      const port = typeof http === 'number' ? http : http.port;
      const host = typeof http === 'number' ? g.listen.host : http.host ?? g.listen.host;
      const redirect = typeof http === 'object' && http['redirect-to-https'];
      if (redirect && out.length === 0) throw new Error('redirect-to-https needs an https listener');
      const server = redirect ? this.createRedirectServer(out[0]!.port) : this.createHttpServer();
      await this.bind(server, port, host, typeof http === 'number' ? ['gateway', 'listen', 'http'] : ['gateway', 'listen', 'http', 'port']);
      this.servers.push({ name: 'http', server });
      out.push({ name: 'http', port: (server.address() as AddressInfo).port, host });
    }
    // listening: now policies may start what they deferred (a key fetch that may reach this very listener)
    this.rt.start();
    return out;
  }

  /** Listen, or fail with a located config error: the port is taken, privileged, or the address is not this machine's. */
  private async bind(server: Server | Http2SecureServer, port: number, host: string, path: Array<string | number>): Promise<void> {
    try {
      await listenOn(server, port, host);
    } catch (err) {
      const why = bindProblem(err as NodeJS.ErrnoException, host, port);
      if (why === undefined) throw err;
      throw new ConfigInvalid([this.rt.loaded.locate(path, why)]);
    }
  }

  private serverOptions() {
    const limits = this.runtime.gateway.limits;
    return {
      maxHeaderSize: limits['max-header-size'],
      requestTimeout: limits['request-timeout'] * 1000,
      headersTimeout: limits['header-timeout'] * 1000,
      keepAliveTimeout: limits['keep-alive-timeout'] * 1000,
      // how often Node checks header/request timeouts (default 30 s would let slowloris linger)
      connectionsCheckingInterval: Math.max(100, Math.min(1000, (limits['header-timeout'] * 1000) / 4)),
      // llhttp stays strict: obs-fold, bad header bytes, CL+TE etc. are refused by the parser
      insecureHTTPParser: false,
      // a missing Host is answered by checkRequest with problem+json (Node's own 400 has no body)
      requireHostHeader: false,
      joinDuplicateHeaders: false,
    };
  }

  /** Attach the request, upgrade and error handlers shared by every listener kind. */
  private wire(server: Server | Http2SecureServer, listener: ListenerContext, http2 = false): void {
    const limits = this.runtime.gateway.limits;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) res.shouldKeepAlive = false;
      if (http2 && req.httpVersionMajor === 1) requestStarted(req.socket);
      if (this.app && serveApp(this.app, req, res, this.logger)) return;
      handleRequest(this.ctx, listener, req, res).catch((err) => this.logger.error({ err }, 'request handler failed'));
    };
    server.on('request', onRequest);
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (http2 && req.httpVersionMajor === 1) requestStarted(req.socket);
      if (this.app && serveApp(this.app, req, res, this.logger, true)) return;
      handleRequest(this.ctx, listener, req, res, true).catch((err) => this.logger.error({ err }, 'request handler failed'));
    });
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      writeProblemOnResponse(res, 'expectation-failed', 'Only "Expect: 100-continue" is supported.');
      req.resume();
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      handleUpgrade(this.ctx, listener, req, socket, head).catch((err) => {
        this.logger.error({ err }, 'upgrade failed');
        socket.destroy();
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => clientError(err, socket, this.logger, limits['max-url-length']));
    server.on(listener.protocol === 'https' ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    (server as Server).maxConnections = limits['max-connections'];
    if ('maxRequestsPerSocket' in server) (server as Server).maxRequestsPerSocket = limits['max-requests-per-socket'];
  }

  private createHttpServer(): Server {
    const server = createServer(this.serverOptions());
    this.wire(server, { name: 'http', protocol: 'http' });
    return server;
  }

  private createHttpsServer(l: HttpsListenerConfig, name: string, hsts: string | undefined): Server | Http2SecureServer {
    const dir = this.runtime.loaded.dir;
    const certs = new CertificateSet(l, dir, this.logger.child({ listener: name }));
    this.certSets.push(certs);
    const clientCert = l['client-certificate'];
    const tlsOptions = {
      ...certs.default.options,
      // a TCP connection that never completes the handshake is bounded like one that never sends headers
      handshakeTimeout: this.runtime.gateway.limits['header-timeout'] * 1000,
      SNICallback: certs.sniCallback,
      requestCert: clientCert !== 'none',
      rejectUnauthorized: clientCert === 'require',
    };
    let server: Server | Http2SecureServer;
    if (l.http2) {
      server = createSecureServer({
        ...this.serverOptions(),
        ...tlsOptions,
        allowHTTP1: true,
        maxSessionInvalidFrames: 100,
        maxSessionRejectedStreams: 100,
        peerMaxConcurrentStreams: l['max-concurrent-streams'],
        maxHeaderListPairs: 256,
        settings: {
          maxConcurrentStreams: l['max-concurrent-streams'],
          maxHeaderListSize: this.runtime.gateway.limits['max-header-size'],
          enablePush: false,
        },
      });
      // bound every HTTP/2 session: no stream within the header timeout, idle, rapid reset
      const limits = this.runtime.gateway.limits;
      const sessionLimits = { headerTimeoutMs: limits['header-timeout'] * 1000, idleTimeoutMs: limits['keep-alive-timeout'] * 1000, maxPrematureResets: l['max-premature-resets'] };
      server.on('session', (session) => guardHttp2Session(session, sessionLimits, (reason) => {
        this.connectionsClosed.labels(reason).inc();
        if (reason === 'rapid-reset') this.logger.warn({ listener: name, reason }, 'HTTP/2 connection closed: the client keeps cancelling streams (GOAWAY ENHANCE_YOUR_CALM)');
      }));
      // HTTP/1.1 on this listener (ALPN http/1.1 or none) runs without Node's HTTP/1 timeouts
      server.on('secureConnection', (s: TLSSocket) => { if (s.alpnProtocol !== 'h2') guardHttp1OverTls(s, sessionLimits.headerTimeoutMs); });
      (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = sessionLimits.idleTimeoutMs;
    } else {
      server = createHttpsServer({ ...this.serverOptions(), ...tlsOptions });
    }
    certs.onReload = (defaults) => (server as unknown as { setSecureContext(o: object): void }).setSecureContext(defaults);
    certs.watch();
    // the client trust material is read once, here, and watched: requests do no file I/O for it
    const clientTrust = clientCert === 'none' ? undefined : loadClientTrust({ clientCa: l['client-ca'].map((f) => resolve(dir, f)), crl: l.crl.map((f) => resolve(dir, f)) }, this.logger.child({ listener: name }));
    if (clientTrust) server.once('close', () => clientTrust.close());
    this.wire(server, { name, protocol: 'https', certs, hsts, clientTrust }, l.http2);
    return server;
  }

  /** The plain listener of `redirect-to-https`: 308 to the same path on the HTTPS port. */
  private createRedirectServer(httpsPort: number): Server {
    const server = createServer(this.serverOptions(), (req, res) => {
      const host = (requestHost(req) ?? '').replace(/:\d+$/, '');
      if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(host) || !(req.url ?? '').startsWith('/')) {
        writeProblemOnResponse(res, 'request-target-invalid', 'Use https.');
        return;
      }
      res.writeHead(308, { location: `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${req.url}`, 'content-length': '0' });
      res.end();
    });
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => clientError(err, socket, this.logger, this.runtime.gateway.limits['max-url-length']));
    return server;
  }

  /** Reload the config file. On error the old config keeps serving and the errors are logged. */
  async reload(): Promise<boolean> {
    let next: Runtime<EdgeSection>;
    const old = this.rt;
    try {
      next = await compileEdge(this.load(), { logger: this.logger, metrics: this.metrics, store: old.storeRef, subscriptions: this.subscriptions });
    } catch (err) {
      if (err instanceof ConfigInvalid) {
        this.logger.error({ errors: err.issues.map(formatIssue) }, 'config reload refused; the previous config keeps serving');
      } else {
        this.logger.error({ err }, 'config reload failed; the previous config keeps serving');
      }
      return false;
    }
    const keepStore = next.storeRef !== undefined && next.storeRef === old.storeRef;
    this.rt = next;
    next.start();
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
    for (const c of this.certSets) c.close();
    const closed = Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
    for (const { server } of this.servers) (server as Server).closeIdleConnections?.();
    const timer = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, deadline);
    await closed;
    clearTimeout(timer);
    await this.accessLog?.flush();
    await this.runtime.close();
  }
}

/**
 * An app the gateway process serves itself on its public listeners, under `prefix` (the developer
 * portal). It sees the normalized path; a request whose target is ambiguous is never its own
 * (the pipeline refuses it), and it answers requests it receives.
 */
export interface PublicApp {
  readonly prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

function serveApp(app: PublicApp, req: IncomingMessage, res: ServerResponse, logger: Logger, expectContinue = false): boolean {
  const target = req.url ?? '';
  if (!target.startsWith(app.prefix)) return false;
  const n = normalizeTarget(target);
  if (!n.ok || (n.path !== app.prefix && !n.path.startsWith(`${app.prefix}/`)) || n.hasSemicolon) return false;
  res.setHeader('x-request-id', randomUUID());
  if (expectContinue) res.writeContinue();
  app.handle(req, res, n.path).catch((err: unknown) => {
    logger.error({ err }, 'app request failed');
    if (!res.headersSent) res.writeHead(500).end();
  });
  return true;
}

export function listenOn(server: Server | Http2SecureServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function writeProblemOnResponse(res: ServerResponse, code: ProblemCode, detail: string): void {
  const requestId = randomUUID();
  const r = problem(code, detail);
  res.writeHead(r.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': requestId, connection: 'close' });
  res.end(renderProblem(r.problem!, r.status, requestId));
}

/** What to answer when Node's HTTP/1.1 parser refuses a request (by its error code). */
function parserProblem(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, maxUrlLength: number): [ProblemCode, string] {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': {
      // the request line alone is over the URL limit → the URL is what is too long
      const packet = err.rawPacket?.toString('latin1') ?? '';
      const eol = packet.indexOf('\n');
      return eol === -1 || eol > maxUrlLength ? ['url-too-long', 'The request target is too long.'] : ['headers-too-large', 'The request headers are too large.'];
    }
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return ['request-ambiguous', 'The request framing is ambiguous (Content-Length / Transfer-Encoding).'];
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
      return ['request-malformed', 'The request has an invalid header or framing.'];
    case 'HPE_INVALID_METHOD':
      return ['method-invalid', 'The request method is not valid.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return ['request-timeout', 'The request was not received in time.'];
    default:
      return ['request-malformed', 'The request could not be parsed.'];
  }
}

/** Node's parser refused the request: answer with problem+json (it would send a bare 400). */
export function clientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket, logger: Logger, maxUrlLength = 8192): void {
  // a response already started on this connection (e.g. bad chunking inside a body being
  // forwarded): nothing more can be said on it
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [code, detail] = parserProblem(err, maxUrlLength);
  const r = problem(code, detail);
  logger.debug({ code: err.code, status: r.status }, 'client error');
  const requestId = randomUUID();
  const body = renderProblem(r.problem!, r.status, requestId);
  // answered, then closed: our side ends and the socket is destroyed shortly after, whether or not
  // the peer closes its side (if a request was being handled, it sees the socket close)
  answerAndClose(socket,
    `HTTP/1.1 ${r.status} ${statusTitle(r.status)}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`);
}

/** What to tell the operator when a listener cannot bind (undefined: not a binding problem). */
export function bindProblem(err: NodeJS.ErrnoException, host: string, port: number): string | undefined {
  switch (err.code) {
    case 'EADDRINUSE': return `${host}:${port} is already in use (another process listens there: stop it, or choose another port)`;
    case 'EACCES': return `${host}:${port}: permission denied (ports below 1024 need privileges; use a higher port behind a load balancer)`;
    case 'EADDRNOTAVAIL': return `${host} is not an address of this machine`;
    default: return undefined;
  }
}
