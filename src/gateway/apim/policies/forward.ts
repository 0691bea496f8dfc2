import { attribute } from '../../../apim/index.js';
import { PolicyRunError } from '../block.js';
import { backendsForUrls } from '../backends.js';
import type { ExchangeContext } from '../context.js';
import { loadError, registerPolicy } from '../registry.js';
import { boolAttr, intAttr, literalAttr } from '../values.js';
import type { Reply } from '../../reply.js';
import type { Backend } from '../../../upstream/backend.js';
import type { UpstreamResponse } from '../../exchange.js';
import { forward } from '../../forward.js';
import { requestHasBody } from '../../ingress.js';
import { readLimited } from '../../openapi/body.js';
import { problem } from '../../problems.js';
import { discard } from '../../respond.js';

/**
 * forward-request sends the request itself (so retry can repeat it); the forward stage then has
 * the response. Its attributes, as the service documents them:
 * - `timeout` (s) / `timeout-ms` (one of them): the backend's answer is awaited that long;
 * - `fail-on-error-status-code`: a 400–599 answer goes to on-error (`context.LastError.Source`
 *   forward-request, `Reason` BackendErrorStatusCode);
 * - `follow-redirects`: 301/302/303/307/308 are followed by the gateway, at most MAX_REDIRECTS;
 * - `buffer-request-body`: the body is read into memory first (up to max-body-buffer), so that a
 *   retry or a 307/308 redirect can send it again;
 * - `buffer-response`, `http-version` (1, 2, 2or1), `continue-timeout`: accepted and checked; the
 *   gateway streams responses as they arrive and talks to backends as their settings say.
 */

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

type Sent = UpstreamResponse | Reply;
const isReply = (r: Sent): r is Reply => (r as UpstreamResponse).body === undefined || (r as Reply).problem !== undefined;
const hasBody = (c: ExchangeContext) => (Buffer.isBuffer(c.ex.requestBody) ? c.ex.requestBody.length > 0 : requestHasBody(c.ex.req));

registerPolicy({
  name: 'forward-request', sections: ['backend'], attributes: ['timeout', 'timeout-ms', 'follow-redirects', 'buffer-request-body', 'buffer-response', 'fail-on-error-status-code', 'http-version', 'continue-timeout'],
  compile(el, ctx) {
    if (attribute(el, 'timeout') !== undefined && attribute(el, 'timeout-ms') !== undefined) {
      throw loadError('unsupported-attribute', '<forward-request> takes timeout or timeout-ms, not both', attribute(el, 'timeout-ms')!.valuePos);
    }
    const seconds = intAttr(el, 'timeout', ctx, undefined, 0);
    const ms = intAttr(el, 'timeout-ms', ctx, undefined, 0);
    intAttr(el, 'continue-timeout', ctx, undefined, 0);
    const version = literalAttr(el, 'http-version');
    if (version !== undefined && !['1', '2', '2or1'].includes(version.trim().toLowerCase())) {
      throw loadError('unsupported-attribute', `http-version is 1, 2 or 2or1, not "${version}"`, attribute(el, 'http-version')!.valuePos);
    }
    const bufferResponse = literalAttr(el, 'buffer-response');
    if (bufferResponse !== undefined && !['true', 'false'].includes(bufferResponse.trim().toLowerCase())) {
      throw loadError('unsupported-attribute', `buffer-response is true or false, not "${bufferResponse}"`, attribute(el, 'buffer-response')!.valuePos);
    }
    const failOnError = boolAttr(el, 'fail-on-error-status-code', ctx, false);
    const follow = boolAttr(el, 'follow-redirects', ctx, false);
    const bufferBody = boolAttr(el, 'buffer-request-body', ctx, false);
    const cap = ctx.policy.gateway.maxBodyBuffer;
    const resolve = backendsForUrls(ctx.policy);
    return async (c) => {
      const ex = c.ex;
      const t = ms !== undefined ? ms(c) : seconds !== undefined ? seconds(c) * 1000 : undefined;
      if (t !== undefined && t > 0) ex.backendTimeoutMs = t;
      const backend = ex.backend as Backend | undefined;
      if (!backend) return problem('backend-not-configured', 'This API has no backend.');
      if (ex.response !== undefined) { discard(ex.response.body); ex.response = undefined; }
      const failed = ex.body?.failure;
      if (failed !== undefined) return problem(failed.code, failed.detail);
      if (bufferBody(c) && ex.requestBody !== null && !Buffer.isBuffer(ex.requestBody)) {
        const read = await readLimited(ex.requestBody, cap, ex.signal);
        if (read.kind !== 'ok') return problem('body-too-large', `forward-request buffers the request body, which is larger than ${cap} bytes or incomplete.`);
        ex.requestBody = read.body;
      }
      const t0 = performance.now();
      const redirects = follow(c);
      // the backend's response goes straight to the client when nothing reads its body afterwards
      // (a redirect or an error status is dropped unread, which the direct response allows)
      let r: Sent = await forward(ex, backend, hasBody(c), undefined, ex.forwardDirect);
      if (redirects) r = await followRedirects(c, r, resolve);
      ex.backendMs = performance.now() - t0;
      if (isReply(r)) return r;
      if (r.status >= 400 && r.status <= 599 && failOnError(c)) {
        discard(r.body);
        throw new PolicyRunError('BackendErrorStatusCode', `The backend responded with status code ${r.status}.`);
      }
      ex.response = r;
      return undefined;
    };
  },
});

/** Follow the backend's redirects: a new request per Location, each to that URL's origin. */
async function followRedirects(c: ExchangeContext, first: Sent, resolve: ReturnType<typeof backendsForUrls>): Promise<Sent> {
  const ex = c.ex;
  let r = first;
  for (let hops = 0; !isReply(r) && REDIRECTS.has(r.status); hops++) {
    const location = r.headers.location;
    if (typeof location !== 'string' || location === '') return r;
    const backend = ex.backend as Backend;
    const query = ex.backendQuery ?? ex.query;
    const here = new URL(backend.origin + backend.basePath + (ex.backendPath || '/') + (query === '' ? '' : `?${query}`));
    let next: URL;
    try { next = new URL(location, here); } catch { return r; }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') return r;
    // 303, and 301/302 of a POST, become a GET without body (as browsers do); the others resend the request
    const toGet = r.status === 303 ? ex.method !== 'HEAD' : (r.status === 301 || r.status === 302) && ex.method === 'POST';
    // a body that was streamed cannot be sent again: the redirect is the answer
    if (!toGet && hasBody(c) && !Buffer.isBuffer(ex.requestBody)) return r;
    if (hops >= MAX_REDIRECTS) { discard(r.body); throw new PolicyRunError('TooManyRedirects', `The backend redirected more than ${MAX_REDIRECTS} times.`); }
    discard(r.body);
    if (toGet) {
      (ex as { method: string }).method = 'GET';
      ex.requestBody = Buffer.alloc(0);
      for (const h of ['content-type', 'content-length', 'transfer-encoding']) delete ex.upstreamHeaders[h];
    }
    if (next.origin !== here.origin) {
      // credentials meant for one origin are not handed to another
      delete ex.upstreamHeaders.authorization;
      delete ex.upstreamHeaders.cookie;
    }
    if (next.origin === here.origin && next.pathname.startsWith(backend.basePath)) ex.backendPath = next.pathname.slice(backend.basePath.length);
    else {
      ex.backend = resolve(next.origin).backend;
      ex.backendPath = next.pathname;
    }
    ex.backendQuery = next.search.slice(1);
    r = await forward(ex, ex.backend as Backend, hasBody(c));
  }
  return r;
}
