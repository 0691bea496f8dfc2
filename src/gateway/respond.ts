import { Readable, type Transform } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { renderProblem, PROBLEM_CONTENT_TYPE, type Headers, type Reply } from './reply.js';
import { requestHasBody } from './ingress.js';
import { DirectResponse } from './direct.js';
import { runSteps } from './steps.js';
import { stageEnded, stageStarted } from './trace.js';
import type { GatewayContext } from './context.js';
import type { CompiledApi, CompiledOperation, Pipeline } from './runtime.js';

/** Answering: a gateway-made reply (through on-error), or the backend's response, streamed. */

/**
 * Answer with a Reply made by the gateway. A problem (an error) goes through `on-error` first,
 * where policies may change headers or replace the response.
 */
export async function respond(gw: GatewayContext, ex: Exchange, api: CompiledApi | undefined, reply: Reply, expectContinue: boolean, pipeline?: Pipeline): Promise<void> {
  if (reply.problem && ex.rejectCode === undefined) ex.rejectCode = reply.problem.code;
  if (reply.problem && ex.rejectedBy !== undefined && ex.rejectCode !== undefined) gw.metrics.rejections.labels(ex.rejectedBy, ex.rejectCode).inc();
  const scope = pipeline ?? (ex.operation as CompiledOperation | undefined)?.pipeline ?? api?.pipeline;
  const apim = scope?.apim === true;
  let response: UpstreamResponse = replyToResponse(reply, ex.requestId, apim);
  const onError = reply.problem ? scope?.['on-error'] : undefined;
  if (onError && onError.length > 0) {
    ex.error = { status: reply.status, code: reply.problem!.code };
    ex.response = response;
    if (ex.span !== undefined) stageStarted(ex, 'on-error');
    try {
      const r = await runSteps(onError, ex);
      if (ex.span !== undefined) stageEnded(ex, r !== undefined);
      response = r ? replyToResponse(r, ex.requestId, apim) : ex.response;
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

/**
 * A Reply as a response. A problem is problem+json, or, for a pipeline with a scope defined by an
 * XML policy document, the service's error body `{"statusCode": …, "message": …}`.
 */
function replyToResponse(reply: Reply, requestId: string, apim = false): UpstreamResponse {
  const headers: Headers = { ...reply.headers };
  if (reply.problem && apim) {
    headers['content-type'] = 'application/json; charset=utf-8';
    return { status: reply.status, headers, body: JSON.stringify({ statusCode: reply.status, message: reply.problem.detail ?? reply.problem.title }) };
  }
  if (reply.problem) {
    headers['content-type'] = PROBLEM_CONTENT_TYPE;
    return { status: reply.status, headers, body: renderProblem(reply.problem, reply.status, requestId) };
  }
  return { status: reply.status, headers, body: reply.body ?? null };
}

/** Write the response: head with our headers merged, then the body (streamed or whole). */
export function send(_gw: GatewayContext, ex: Exchange, response: UpstreamResponse): void {
  const res = ex.res!;
  if (res.headersSent || res.destroyed) { discard(response.body); return; }
  let headers = response.headers;
  if (ex.responseHeaders) Object.assign(headers, ex.responseHeaders);
  headers['x-request-id'] = ex.requestId;
  let body = response.body;
  ex.status = response.status;
  if (body instanceof DirectResponse) {
    res.writeHead(response.status, headers);
    body.start(res);
    return;
  }
  const compressor = (ex.api as CompiledApi | undefined)?.compressor;
  if (compressor !== undefined && body !== null) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) headers['content-length'] = String(Buffer.byteLength(body));
    const plan = compressor.plan({ method: ex.method, headers: ex.req.headers }, { status: response.status, headers });
    headers = plan.headers;
    if (plan.encoding !== undefined) body = compressing(body, plan.stream());
  }
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

/** The body through a compressing stream; destroying the result destroys the source. */
function compressing(body: Readable | Buffer | string, z: Transform): Readable {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    z.end(body);
    return z;
  }
  body.on('error', (err) => z.destroy(err));
  z.once('close', () => { if (!body.readableEnded) body.destroy(); });
  body.pipe(z);
  return z;
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

/**
 * Drop a body nobody will read (a backend response replaced by a policy's answer, a retried
 * response). undici's body stream emits an error when destroyed unread: it is listened to here,
 * so dropping a body can never become an unhandled error.
 */
export function discard(body: unknown): void {
  if (body instanceof DirectResponse) { body.drop(); return; }
  if (body === null || typeof body !== 'object' || Buffer.isBuffer(body)) return;
  const stream = body as Readable;
  if (typeof stream.destroy !== 'function' || stream.destroyed) return;
  stream.on('error', ignore);
  stream.destroy();
}

function ignore(): void {}
