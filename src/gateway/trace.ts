import type { Exchange } from './exchange.js';
import type { Reply } from './reply.js';
import { tracer, type Span } from '../observability/tracing.js';

/**
 * A request's spans when tracing is on (observability/tracing.ts): one server span per request,
 * continuing the caller's W3C trace context; a child span per stage that runs policies, one per
 * policy (name, outcome, reason code) and one per backend call (target, status, retries), whose
 * context the backend receives in `traceparent`. Off, `ex.span` stays undefined and nothing
 * here runs.
 */

/** Open the request's server span (nothing when tracing is off). */
export function traceRequest(ex: Exchange): void {
  const t = tracer();
  if (t === undefined) return;
  ex.span = t.incoming(ex.method, ex.req.headers, {
    'http.request.method': ex.method,
    'url.path': ex.path,
    'url.scheme': ex.protocol,
    'client.address': ex.clientIp,
    'network.protocol.version': ex.req.httpVersion,
    'gatehouse.request_id': ex.requestId,
  });
}

/** A stage that runs policies starts: its span is the parent of their spans. */
export function stageStarted(ex: Exchange, name: string): void {
  // a stage that threw left its span open (on-error runs next): it ended there
  if (ex.stageSpan !== undefined) stageEnded(ex, true);
  ex.stageSpan = ex.span!.child(`stage ${name}`, 'internal', { 'gatehouse.stage': name });
}

/** The stage is over; `answered`: it answered the request (or a policy in it did). */
export function stageEnded(ex: Exchange, answered: boolean): void {
  const s = ex.stageSpan;
  if (s === undefined) return;
  ex.stageSpan = undefined;
  s.set('gatehouse.stage.answered', answered);
  s.end();
}

/** A policy's span, under the stage that runs it. */
export function policyStarted(ex: Exchange, name: string): Span {
  return (ex.stageSpan ?? ex.span!).child(`policy ${name}`, 'internal', { 'gatehouse.policy.name': name });
}

/** The policy let the request go on (`reply` undefined) or answered it. */
export function policyEnded(span: Span, reply: Reply | undefined): void {
  if (reply === undefined) {
    span.set('gatehouse.policy.outcome', 'continue');
  } else {
    span.set('gatehouse.policy.outcome', 'answered');
    span.set('gatehouse.policy.reason', reply.code ?? reply.problem?.code);
    span.set('http.response.status_code', reply.status);
  }
  span.end();
}

/** The policy threw (a defect: the request is answered with 500). */
export function policyFailed(span: Span, err: unknown): void {
  span.set('gatehouse.policy.outcome', 'error');
  span.fail(err instanceof Error ? err.name : 'error');
  span.end();
}

/** The backend call's span; the backend receives its context in `traceparent`. */
export function backendStarted(ex: Exchange, backend: string): Span {
  const span = ex.span!.child(`backend ${backend}`, 'client', { 'gatehouse.backend': backend, 'http.request.method': ex.method });
  span.inject(ex.upstreamHeaders);
  return span;
}

/** One try of the backend call is over: where it went, how many retries so far, what came back. */
export function backendTried(span: Span, origin: string | undefined, tries: number, status: number | undefined): void {
  span.set('gatehouse.backend.target', origin);
  span.set('gatehouse.backend.retries', tries - 1);
  span.set('http.response.status_code', status);
}

/** The backend call is over: `failure` is the problem code when it failed. */
export function backendEnded(span: Span, failure: string | undefined): void {
  if (failure !== undefined) {
    span.set('error.type', failure);
    span.fail(failure);
  }
  span.end();
}

/** The exchange is over: the server span gets its route, outcome and status, and ends. */
export function requestTraced(ex: Exchange): void {
  const span = ex.span!;
  stageEnded(ex, false);
  const api = ex.api;
  const op = ex.operation;
  const route = api === undefined ? undefined : op === undefined ? `${api.prefix}/*` : `${api.prefix}${op.template}`;
  if (route !== undefined) {
    span.set('http.route', route);
    span.rename(`${ex.method} ${route}`);
  }
  span.set('gatehouse.api', api?.name);
  span.set('gatehouse.operation', op?.id);
  span.set('gatehouse.policy.name', ex.rejectedBy);
  span.set('gatehouse.policy.reason', ex.rejectCode);
  span.set('http.response.status_code', ex.status);
  if (ex.status >= 500) span.fail(ex.rejectCode ?? String(ex.status));
  span.end();
}
