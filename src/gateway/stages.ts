import type { IncomingMessage } from 'node:http';
import { Exchange, type UpstreamResponse } from './exchange.js';
import type { Reply } from './reply.js';
import { problem } from './problems.js';
import { checkRequest, peerOf, requestHasBody, requestIdOf } from './ingress.js';
import { RequestBody } from './body.js';
import { upstreamRequestHeaders } from './headers.js';
import { forward } from './forward.js';
import { discard } from './respond.js';
import { route, selectOperation } from './routing.js';
import { runSteps } from './steps.js';
import { checkSubscription } from './subscriptions/check.js';
import type { GatewayContext, ListenerContext } from './context.js';
import type { CompiledApi, Pipeline, Runtime } from './runtime.js';
import type { Backend } from '../upstream/backend.js';
import { requestStarted, stageDone, tracingStages } from '../observability/tracing.js';
import { backendEnded, backendStarted, stageEnded, stageStarted, traceRequest } from './trace.js';

/**
 * The request lifecycle, one stage after the other. HTTP requests run HTTP_STAGES; WebSocket
 * upgrades run UPGRADE_STAGES, the same stages up to the backend policies, then join the sockets.
 * A stage either lets the request go on (undefined), answers it (a Reply), or stops it because
 * the client is gone (GONE). A stage awaits only when it must: a synchronous pipeline costs no
 * microtask.
 *
 *   accept (check & normalize) → route → early (cors) → operation → body → inbound
 *     → 100-continue → backend → forward → outbound → respond
 *   any problem → on-error → problem+json
 */

/** One request's way through the stages. */
export interface Turn {
  readonly gw: GatewayContext;
  readonly rt: Runtime;
  readonly ex: Exchange;
  readonly listener: ListenerContext;
  readonly peerIp: string;
  readonly trustedPeer: boolean;
  /** the check refused the request: the answer */
  readonly refused: Reply | undefined;
  /** the path has `;` parameters (refused unless the API allows them) */
  readonly hasSemicolon: boolean;
  /** `Expect: 100-continue` not answered yet */
  expectContinue: boolean;
  api: CompiledApi | undefined;
  /** the path after the API prefix */
  rest: string;
  pipeline: Pipeline | undefined;
  hasBody: boolean;
}

/** The request is over without an answer from the gateway: its client went away. */
export const GONE = Symbol('gone');
export type StageResult = Reply | undefined | typeof GONE;
export interface Stage {
  readonly name: string;
  /** the policies it runs: with tracing on, a stage that has any gets a span (the parent of theirs) */
  policies?(t: Turn): readonly unknown[];
  run(t: Turn): StageResult | Promise<StageResult>;
}

/** Stage 0, before the exchange exists: id, caller, the checks of an unambiguous request, the normalized path. */
export function accept(gw: GatewayContext, listener: ListenerContext, req: IncomingMessage, res: Exchange['res'], expectContinue: boolean): Turn {
  const rt = gw.runtime;
  const start = performance.now();
  const { peerIp, trustedPeer, clientIp } = peerOf(req, rt);
  const checked = checkRequest(req, rt);
  const ex = new Exchange(req, res, requestIdOf(req), clientIp, listener, req.method ?? 'GET',
    checked.ok ? checked.path : '', checked.ok ? checked.query : '', start);
  if (listener.hsts !== undefined) ex.addResponseHeader('strict-transport-security', listener.hsts);
  traceRequest(ex);
  requestStarted(ex);
  return {
    gw, rt, ex, listener, peerIp, trustedPeer, expectContinue,
    refused: checked.ok ? undefined : checked.reply,
    hasSemicolon: checked.ok && checked.hasSemicolon,
    api: undefined, rest: '', pipeline: undefined, hasBody: false,
  };
}

const ROUTE: Stage = {
  name: 'route',
  run(t) {
    const routed = route(t.rt, t.listener, t.ex, t.hasSemicolon);
    t.api = t.ex.api as CompiledApi | undefined;
    if (!('rest' in routed)) return routed;
    t.rest = routed.rest;
    t.ex.upstreamHeaders = upstreamRequestHeaders(t.ex, t.trustedPeer, t.peerIp, routed.api.forwardRules);
    return undefined;
  },
};

/** policies of the before-operation phase: cors answers preflights here, before method matching */
const EARLY: Stage = { name: 'early', policies: (t) => t.api!.early, run: (t) => (t.api!.early.length === 0 ? undefined : runSteps(t.api!.early, t.ex)) };

const OPERATION: Stage = {
  name: 'operation',
  run(t) {
    const selected = selectOperation(t.api!, t.ex, t.rest);
    if (!('inbound' in selected)) return selected;
    t.pipeline = selected;
    return undefined;
  },
};

/** the subscription key: checked and removed; a product subscription selects the product's pipeline */
const SUBSCRIPTION: Stage = {
  name: 'subscription',
  run(t) {
    const plan = t.api!.subscription;
    if (plan === undefined) return undefined;
    const r = checkSubscription(t.api!, plan, t.rt.subscriptions, t.ex, t.pipeline!);
    if ('inbound' in r) { t.pipeline = r; return undefined; }
    t.ex.rejectedBy = 'subscription';
    t.ex.rejectCode = r.code;
    return r;
  },
};

/** the body: one owner from here on (size, data rate, the client's aborts) */
const BODY: Stage = {
  name: 'body',
  run(t) {
    const req = t.ex.req;
    t.hasBody = requestHasBody(req);
    if (!t.hasBody) return undefined;
    const api = t.api!;
    const cl = req.headers['content-length'];
    if (cl !== undefined && Number(cl) > api.maxBodySize) {
      return problem('body-too-large', `The request body is larger than this API accepts (${api.maxBodySize} bytes).`);
    }
    t.ex.body = new RequestBody(req, { maxSize: api.maxBodySize, minRate: t.rt.bodyRate.minRate, rateWindow: t.rt.bodyRate.window });
    t.ex.requestBody = t.ex.body;
    return undefined;
  },
};

const INBOUND: Stage = { name: 'inbound', policies: (t) => t.pipeline!.inbound, run: (t) => runSteps(t.pipeline!.inbound, t.ex) };

/** the policies let the request in: now the client may send the body it announced */
const CONTINUE: Stage = {
  name: 'continue',
  run(t) {
    if (t.expectContinue) { t.ex.res!.writeContinue(); t.expectContinue = false; }
    return undefined;
  },
};

const BACKEND: Stage = {
  name: 'backend',
  policies: (t) => t.pipeline!.backend,
  run(t) {
    // nothing after the forward reads or replaces the body: the backend's response can go straight to the client
    t.ex.forwardDirect = t.pipeline!.outbound.length === 0 && t.api!.compressor === undefined;
    return runSteps(t.pipeline!.backend, t.ex);
  },
};

const FORWARD: Stage = { name: 'forward', run: forwardStage };

async function forwardStage(t: Turn): Promise<StageResult> {
  const { ex, gw } = t;
  // a policy forwarded the request itself (forward-request of an XML policy document)
  if (ex.response !== undefined) return undefined;
  const backend = ex.backend as Backend | undefined;
  if (!backend) return problem('backend-not-configured', 'This API has no backend.');
  // An HTTP/2 stream cancelled in the same read as its HEADERS is only seen as cancelled once
  // that read has been processed: look again after it, so a cancelled stream is never forwarded.
  if (ex.req.httpVersionMajor === 2) await nextTurn();
  // the client went away while a policy waited (JWKS, store, body): nothing is forwarded
  if (ex.signal.aborted) return GONE;
  // the body already failed (too large, too slow, cut off): say so instead of forwarding it
  const failed = ex.body?.failure;
  if (failed !== undefined) return failed.status === 499 ? GONE : problem(failed.code, failed.detail);
  const t0 = performance.now();
  if (ex.span !== undefined) ex.backendSpan = backendStarted(ex, backend.name);
  const upstream = await (gw.backendCall ?? forward)(ex, backend, t.hasBody, t.rt.hashKeys.get(backend.name)?.render(ex), ex.forwardDirect);
  ex.backendMs = performance.now() - t0;
  if (ex.backendSpan !== undefined) backendEnded(ex.backendSpan, isReply(upstream) ? upstream.code ?? upstream.problem?.code ?? 'error' : undefined);
  if (isReply(upstream)) {
    gw.metrics.backendErrors.labels(backend.name, upstream.code ?? 'error').inc();
    // the client is told what failed; the log says why (never the client)
    if (upstream.status !== 499) gw.logger.warn({ requestId: ex.requestId, api: t.api!.name, backend: backend.name, code: upstream.code, reason: (upstream as { cause?: string }).cause }, 'backend request failed');
    return upstream;
  }
  t.api!.backendDuration.observe(ex.backendMs / 1000);
  ex.response = upstream;
  return undefined;
}

const OUTBOUND: Stage = {
  name: 'outbound',
  policies: (t) => t.pipeline!.outbound,
  run(t) {
    const r = runSteps(t.pipeline!.outbound, t.ex);
    if (r instanceof Promise) return r.then((v) => droppingBody(t, v));
    return droppingBody(t, r);
  },
};

/** an outbound policy that answers instead of the backend: the backend's body is not needed */
function droppingBody(t: Turn, r: Reply | undefined): Reply | undefined {
  if (r !== undefined) discard(t.ex.response!.body);
  return r;
}

export const HTTP_STAGES: readonly Stage[] = [ROUTE, EARLY, OPERATION, SUBSCRIPTION, BODY, INBOUND, CONTINUE, BACKEND, FORWARD, OUTBOUND];
export const UPGRADE_STAGES: readonly Stage[] = [ROUTE, EARLY, OPERATION, SUBSCRIPTION, INBOUND, BACKEND];

/** Run `stages` from `from` until one answers or stops the request. */
export function runStages(stages: readonly Stage[], t: Turn, from = 0): StageResult | Promise<StageResult> {
  const timed = tracingStages();
  const traced = t.ex.span !== undefined;
  for (let i = from; i < stages.length; i++) {
    const stage = stages[i]!;
    const t0 = timed ? performance.now() : 0;
    const spanned = traced && stage.policies !== undefined && stage.policies(t).length > 0;
    if (spanned) stageStarted(t.ex, stage.name);
    const r = stage.run(t);
    if (r instanceof Promise) {
      return r.then((v) => {
        if (spanned) stageEnded(t.ex, v !== undefined);
        if (timed) stageDone(t.ex, stage.name, performance.now() - t0, v !== undefined);
        return v === undefined ? runStages(stages, t, i + 1) : v;
      });
    }
    if (spanned) stageEnded(t.ex, r !== undefined);
    if (timed) stageDone(t.ex, stage.name, performance.now() - t0, r !== undefined);
    if (r !== undefined) return r;
  }
  return undefined;
}

function isReply(r: UpstreamResponse | Reply): r is Reply {
  return (r as UpstreamResponse).body === undefined || (r as Reply).problem !== undefined;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
