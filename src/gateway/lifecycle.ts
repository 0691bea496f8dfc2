import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Exchange, type UpstreamResponse } from './exchange.js';
import { normalizeTarget, originForm } from './normalize.js';
import { renderProblem, PROBLEM_CONTENT_TYPE, type Headers, type Reply } from './reply.js';
import { problem } from './problems.js';
import { forward, upstreamRequestHeaders } from './proxy.js';
import { RequestBody } from './body.js';
import { normalizeIp, resolveClientIp } from '../net/ip.js';
import type { CompiledApi, CompiledBackend, CompiledOperation, Pipeline, Runtime, Step } from './runtime.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * The request lifecycle, stage by stage:
 *
 *   accept → check & normalize → route → early policies (cors) → operation → inbound
 *          → backend policies → forward → outbound → respond
 *   any failure → on-error → problem+json
 */

export interface GatewayContext {
  runtime: Runtime;
  logger: Logger;
  accessLog: Logger | undefined;
  metrics: Metrics;
}

/** What a request knows about the listener it arrived on. */
export interface ListenerContext {
  name: string;
  protocol: 'http' | 'https';
  /** the HTTPS listener's certificates (SNI names), for the 421 check */
  certs?: { sameCertificate(servername: string | undefined, host: string): boolean };
  /** Strict-Transport-Security value, when configured (HTTPS only) */
  hsts?: string;
  /**
   * The HTTPS listener's client trust material (client-ca and crl, loaded when the listener
   * started, watched for changes), for validate-client-certificate; undefined when the listener
   * asks for no client certificate.
   */
  clientTrust?: import('./mtls/trust.js').ClientTrust;
  /**
   * @deprecated CRL file paths of the listener; nothing reads them (the loaded lists are in
   * `clientTrust`). Kept only while Exchange's listener type still requires `crl`: remove both.
   */
  crl: readonly string[];
}

const REQUEST_ID = /^[A-Za-z0-9._:@+=-]{1,128}$/;

export async function handleRequest(gw: GatewayContext, listener: ListenerContext, req: IncomingMessage, res: ServerResponse, expectContinue = false): Promise<void> {
  const rt = gw.runtime;
  const start = performance.now();
  const requestId = requestIdOf(req);
  const { peerIp, trustedPeer, clientIp } = peerOf(req, rt);

  // 1. check & normalize
  const checked = checkRequest(req, rt);
  const ex = new Exchange(req, res, requestId, clientIp, listener, req.method ?? 'GET',
    checked.ok ? checked.path : '', checked.ok ? checked.query : '', start);
  if (listener.hsts !== undefined) ex.addResponseHeader('strict-transport-security', listener.hsts);
  // the connection, kept: a consumer that destroys the request stream detaches `req.socket`
  const socket = req.socket;
  const bytesWrittenAtStart = socket.bytesWritten ?? 0;
  res.once('close', () => done(gw, ex, socket, bytesWrittenAtStart));
  if (!checked.ok) return respond(gw, ex, undefined, checked.reply, expectContinue);

  // 2. route
  const routed = route(rt, listener, ex, checked.hasSemicolon);
  if (!('rest' in routed)) return respond(gw, ex, ex.api as CompiledApi | undefined, routed, expectContinue);
  const api = routed.api;
  ex.upstreamHeaders = upstreamRequestHeaders(ex, trustedPeer, peerIp, api.forwardRules);

  try {
    // 3. early policies: cors answers preflights here, before method matching
    if (api.early.length > 0) {
      let r = runSteps(api.early, ex);
      if (r instanceof Promise) r = await r;
      if (r) return respond(gw, ex, api, r, expectContinue);
    }

    // 4. operation
    const pipeline = selectOperation(api, ex, routed.rest);
    if (!('inbound' in pipeline)) return respond(gw, ex, api, pipeline, expectContinue);

    // 5. the body: one owner from here on (size, data rate, the client's aborts)
    const hasBody = requestHasBody(req);
    if (hasBody) {
      const cl = req.headers['content-length'];
      if (cl !== undefined && Number(cl) > api.maxBodySize) {
        return respond(gw, ex, api, problem('body-too-large', `The request body is larger than this API accepts (${api.maxBodySize} bytes).`), expectContinue);
      }
      ex.body = new RequestBody(req, { maxSize: api.maxBodySize, minRate: rt.bodyRate.minRate, rateWindow: rt.bodyRate.window });
      ex.requestBody = ex.body;
    }

    // 6. inbound
    // `await` only what is a promise: a synchronous pipeline costs no microtask
    let reply = runSteps(pipeline.inbound, ex);
    if (reply instanceof Promise) reply = await reply;
    if (reply) return respond(gw, ex, api, reply, expectContinue);
    if (expectContinue) res.writeContinue();

    // 7. backend policies, then forward
    reply = runSteps(pipeline.backend, ex);
    if (reply instanceof Promise) reply = await reply;
    if (reply) return respond(gw, ex, api, reply, false);
    const backend = ex.backend as CompiledBackend | undefined;
    if (!backend) return respond(gw, ex, api, problem('backend-not-configured', 'This API has no backend.'), false);
    // An HTTP/2 stream cancelled in the same read as its HEADERS is only seen as cancelled once
    // that read has been processed: look again after it, so a cancelled stream is never forwarded.
    if (req.httpVersionMajor === 2) await nextTurn();
    // the client went away while a policy waited (JWKS, store, body): nothing is forwarded
    if (ex.signal.aborted) return;
    // the body already failed (too large, too slow, cut off): say so instead of forwarding it
    const failed = ex.body?.failure;
    if (failed !== undefined) {
      if (failed.status === 499) return;
      return respond(gw, ex, api, problem(failed.code, failed.detail), false);
    }
    const t0 = performance.now();
    const upstream = await forward(ex, backend, hasBody);
    ex.backendMs = performance.now() - t0;
    if (isReply(upstream)) {
      gw.metrics.backendErrors.labels(backend.name, upstream.code ?? 'error').inc();
      // the client is told what failed; the log says why (never the client)
      if (upstream.status !== 499) gw.logger.warn({ requestId, api: api.name, backend: backend.name, code: upstream.code, reason: (upstream as { cause?: string }).cause }, 'backend request failed');
      return respond(gw, ex, api, upstream, false, pipeline);
    }
    api.backendDuration.observe(ex.backendMs / 1000);

    // 8. outbound
    ex.response = upstream;
    reply = runSteps(pipeline.outbound, ex);
    if (reply instanceof Promise) reply = await reply;
    if (reply) {
      discard(ex.response.body);
      return respond(gw, ex, api, reply, false, pipeline);
    }
    return send(gw, ex, ex.response);
  } catch (err) {
    gw.logger.error({ err, requestId, api: api.name }, 'unexpected error in the request pipeline');
    return respond(gw, ex, api, problem('internal-error', 'The gateway failed to process the request.'), false);
  }
}

export function requestHost(req: IncomingMessage): string | undefined {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined);
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const c = host.indexOf(':');
  return c === -1 ? host : host.slice(0, c);
}

/** The request id: the client's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The caller: the socket's address, unless the socket is a trusted proxy (then X-Forwarded-For). */
export function peerOf(req: IncomingMessage, rt: Runtime): { peerIp: string; trustedPeer: boolean; clientIp: string } {
  const peerIp = normalizeIp(req.socket.remoteAddress ?? '');
  const trustedPeer = rt.trustedProxies.size > 0 && rt.trustedProxies.has(peerIp);
  const clientIp = trustedPeer ? resolveClientIp(peerIp, req.headers['x-forwarded-for'], rt.trustedProxies) : peerIp;
  return { peerIp, trustedPeer, clientIp };
}

/**
 * Stage 2: the API for this request (HTTP/2 sends :authority instead of Host). A Host the TLS
 * connection's certificate does not cover → 421; no API → 404; `;` path parameters → 400 unless
 * the API allows them. Sets `ex.api`, `ex.backend`, `ex.backendPath`.
 */
export function route(rt: Runtime, listener: ListenerContext, ex: Exchange, hasSemicolon: boolean): Reply | { api: CompiledApi; rest: string } {
  const host = requestHost(ex.req);
  if (listener.certs !== undefined && host !== undefined) {
    const sni = (ex.req.socket as { servername?: string | false }).servername;
    if (typeof sni === 'string' && !listener.certs.sameCertificate(sni, stripPort(host))) {
      return problem('misdirected-request', 'This connection was made for another host name; open a new connection for this one.');
    }
  }
  const routed = rt.router.match(host, ex.path);
  if (!routed) return problem('route-not-found', 'No API is published at this path.');
  const api = routed.api;
  ex.api = api;
  ex.backend = api.backend;
  ex.backendPath = routed.rest;
  if (hasSemicolon && !api.config['allow-path-parameters']) {
    return problem('path-invalid', 'Path parameters (";") are not allowed on this API.');
  }
  return routed;
}

/** Stage 4: the operation's pipeline (404 / 405 with Allow), or the API's when it lists none. */
export function selectOperation(api: CompiledApi, ex: Exchange, rest: string): Reply | Pipeline {
  if (!api.operations) return api.pipeline;
  const m = api.operations.match(ex.method, rest);
  if (!m) {
    const allowed = api.operations.allowed(rest);
    return allowed.length === 0
      ? problem('operation-not-found', 'This API has no operation at this path.')
      : problem('method-not-allowed', `This path allows ${allowed.join(', ')}.`, { headers: { allow: allowed.join(', ') } });
  }
  ex.operation = m.op;
  ex.params = m.params;
  return m.op.pipeline;
}

/**
 * Whether a body follows the headers: Content-Length or chunked framing in HTTP/1.1; in HTTP/2, a
 * HEADERS frame without END_STREAM (a body needs no Content-Length there).
 */
function requestHasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  if (req.httpVersionMajor === 2) return (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  return req.headers['transfer-encoding'] !== undefined;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function isReply(r: UpstreamResponse | Reply): r is Reply {
  return (r as UpstreamResponse).body === undefined || (r as Reply).problem !== undefined;
}

type Checked = { ok: true; path: string; query: string; hasSemicolon: boolean } | { ok: false; reply: Reply };

/** Refuse ambiguous requests; normalize the target. */
export function checkRequest(req: IncomingMessage, rt: Runtime): Checked {
  // HTTP/0.9 (a request line without a version) has no headers: no Host, no framing to check
  if (req.httpVersionMajor === 0) {
    return { ok: false, reply: problem('http-version-not-supported', 'Use HTTP/1.1 or HTTP/2.', { headers: { connection: 'close' } }) };
  }
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
    return { ok: false, reply: problem('host-missing', 'An HTTP/1.1 request needs a Host header.') };
  }
  // Node accepts `Transfer-Encoding: gzip, chunked` and the like; we forward only plain chunked
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase() !== 'chunked') {
    return { ok: false, reply: problem('request-ambiguous', 'Only "Transfer-Encoding: chunked" is accepted.') };
  }
  const raw = req.rawHeaders;
  const refuseUnderscores = rt.gateway['headers-with-underscores'] === 'reject';
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 4 && n.toLowerCase() === 'host' && ++hosts > 1) {
      return { ok: false, reply: problem('request-ambiguous', 'The request has more than one Host header.') };
    }
    if (refuseUnderscores && n.indexOf('_') !== -1) {
      return { ok: false, reply: problem('header-name-invalid', `Header names with underscores are not accepted (${n.slice(0, 64)}); use hyphens.`) };
    }
  }
  const url = req.url ?? '';
  if (url.length > rt.gateway.limits['max-url-length']) {
    return { ok: false, reply: problem('url-too-long', `The request target is longer than ${rt.gateway.limits['max-url-length']} bytes.`) };
  }
  const target = originForm(url, requestHost(req));
  if (target === undefined) return { ok: false, reply: problem('request-target-invalid', 'The request target must be a path (or an absolute URL naming this host).') };
  const n = normalizeTarget(target);
  if (!n.ok) return { ok: false, reply: problem(n.code, n.detail) };
  return n;
}

/** Run policy steps in order; synchronous handlers never allocate a promise. */
export function runSteps(steps: Step[], ex: Exchange, from = 0): Reply | undefined | Promise<Reply | undefined> {
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    const r = step.handler(ex);
    if (r === undefined) continue;
    if (r instanceof Promise) {
      return r.then((v) => (v === undefined ? runSteps(steps, ex, i + 1) : ended(step, v, ex)));
    }
    return ended(step, r, ex);
  }
  return undefined;
}

function ended(step: Step, r: Reply, ex: Exchange): Reply {
  if (ex.rejectedBy === undefined) {
    ex.rejectedBy = step.name;
    ex.rejectCode = r.code ?? r.problem?.code;
  }
  return r;
}

/**
 * Answer with a Reply made by the gateway. A problem (an error) goes through `on-error` first,
 * where policies may change headers or replace the response.
 */
async function respond(gw: GatewayContext, ex: Exchange, api: CompiledApi | undefined, reply: Reply, expectContinue: boolean, pipeline?: Pipeline): Promise<void> {
  if (reply.problem && ex.rejectCode === undefined) ex.rejectCode = reply.problem.code;
  if (reply.problem && ex.rejectedBy !== undefined && ex.rejectCode !== undefined) gw.metrics.rejections.labels(ex.rejectedBy, ex.rejectCode).inc();
  let response: UpstreamResponse = replyToResponse(reply, ex.requestId);
  const onError = reply.problem ? (pipeline ?? (ex.operation as CompiledOperation | undefined)?.pipeline ?? api?.pipeline)?.['on-error'] : undefined;
  if (onError && onError.length > 0) {
    ex.error = { status: reply.status, code: reply.problem!.code };
    ex.response = response;
    try {
      const r = await runSteps(onError, ex);
      response = r ? replyToResponse(r, ex.requestId) : ex.response;
    } catch (err) {
      gw.logger.error({ err, requestId: ex.requestId }, 'on-error policy failed');
    }
  }
  // With `Expect: 100-continue` refused, the client must not send the body: close after answering.
  if (expectContinue) ex.res!.shouldKeepAlive = false;
  // A request body we did not read must not be left in the connection to desync the next request.
  if (requestHasBody(ex.req) && !(ex.body?.complete ?? ex.req.readableEnded)) closeAfterAnswer(ex);
  send(gw, ex, response);
}

/**
 * The request's body was not read: discard what still arrives (so that closing does not reset the
 * connection before the client has read our answer), then end the connection (HTTP/1.1) or the
 * stream (HTTP/2) shortly after the answer is out.
 */
function closeAfterAnswer(ex: Exchange): void {
  const req = ex.req;
  const res = ex.res!;
  ex.body?.destroy();
  req.resume();
  if (req.httpVersionMajor === 2) {
    const stream = (req as unknown as { stream: { closed: boolean; close(code?: number): void } }).stream;
    res.once('finish', () => setTimeout(() => { if (!stream.closed) stream.close(0 /* NO_ERROR */); }, 2000).unref());
    return;
  }
  res.shouldKeepAlive = false;
  const socket = req.socket;
  res.once('finish', () => setTimeout(() => socket.destroy(), 2000).unref());
}

function replyToResponse(reply: Reply, requestId: string): UpstreamResponse {
  const headers: Headers = { ...reply.headers };
  if (reply.problem) {
    headers['content-type'] = PROBLEM_CONTENT_TYPE;
    return { status: reply.status, headers, body: renderProblem(reply.problem, reply.status, requestId) };
  }
  return { status: reply.status, headers, body: reply.body ?? null };
}

/** Write the response: head with our headers merged, then the body (streamed or whole). */
function send(_gw: GatewayContext, ex: Exchange, response: UpstreamResponse): void {
  const res = ex.res!;
  if (res.headersSent || res.destroyed) { discard(response.body); return; }
  const headers = response.headers;
  if (ex.responseHeaders) Object.assign(headers, ex.responseHeaders);
  headers['x-request-id'] = ex.requestId;
  const body = response.body;
  ex.status = response.status;
  if (body === null || typeof body === 'string' || Buffer.isBuffer(body)) {
    if (body !== null) headers['content-length'] = String(Buffer.byteLength(body));
    else if (response.status !== 204 && response.status !== 304 && headers['content-length'] === undefined && ex.method !== 'HEAD') headers['content-length'] = '0';
    res.writeHead(response.status, headers);
    res.end(ex.method === 'HEAD' ? undefined : body ?? undefined);
    return;
  }
  res.writeHead(response.status, headers);
  streamBody(body, res);
}

/**
 * Stream the backend's body to the client with backpressure. `.pipe()` plus the two error paths,
 * rather than stream.pipeline, which allocates an AbortController per call and aborts it (a
 * DOMException with a stack trace) when done: ~5% of the no-policy gateway's CPU in a profile.
 */
function streamBody(body: Readable | NodeJS.ReadableStream, res: ServerResponse): void {
  const src = body as Readable;
  const onError = () => { if (!res.destroyed) res.destroy(); };
  src.once('error', onError);
  res.once('close', () => {
    // the client went away (or the response is done): release the backend stream
    if (!src.readableEnded) src.destroy();
  });
  src.pipe(res);
}

function discard(body: UpstreamResponse['body']): void {
  if (body instanceof Readable) body.destroy();
}

/** The exchange is over: metrics, access log, done callbacks. */
function done(gw: GatewayContext, ex: Exchange, socket: { bytesWritten?: number }, bytesWrittenAtStart: number): void {
  const res = ex.res!;
  // the client went away before we ended the response (HTTP/2: writableFinished is true after a reset)
  if (!res.writableEnded) ex.signal.abort();
  const status = ex.status || (res.headersSent ? res.statusCode : 499);
  ex.status = status;
  const total = performance.now() - ex.startTime;
  const backendMs = ex.backendMs;
  const api = ex.api as CompiledApi | undefined;
  const op = ex.operation as CompiledOperation | undefined;
  if (api) {
    const byStatus = op ? op.requests : api.requests;
    let c = byStatus.get(status);
    if (!c) byStatus.set(status, (c = gw.metrics.requests.labels(api.name, op?.id ?? '', String(status))));
    c.inc();
    api.gatewayDuration.observe((Number.isNaN(backendMs) ? total : total - backendMs) / 1000);
  } else {
    gw.metrics.requests.labels('', '', String(status)).inc();
  }
  // bytes written on the connection for this response (HTTP/2 multiplexes: not per stream there)
  const written = socket.bytesWritten;
  ex.bytesOut = typeof written === 'number' ? written - bytesWrittenAtStart : 0;
  const cl = ex.req.headers['content-length'];
  ex.bytesIn = cl !== undefined ? Number(cl) || 0 : ex.body?.bytes ?? 0;
  if (gw.accessLog) {
    gw.accessLog.info({
      requestId: ex.requestId,
      method: ex.method,
      path: ex.path,
      api: api?.name,
      operation: op?.id,
      status,
      durationMs: round(total),
      gatewayMs: round(Number.isNaN(backendMs) ? total : total - backendMs),
      backendMs: Number.isNaN(backendMs) ? undefined : round(backendMs),
      clientIp: ex.clientIp,
      bytesIn: ex.bytesIn,
      bytesOut: ex.bytesOut,
      policy: ex.rejectedBy,
      reason: ex.rejectCode,
    }, 'request');
  }
  ex.finish();
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
