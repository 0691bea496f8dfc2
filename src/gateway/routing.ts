import type { Exchange } from './exchange.js';
import type { Reply } from './reply.js';
import { problem } from './problems.js';
import { requestHost, stripPort } from './ingress.js';
import type { ListenerContext } from './context.js';
import type { CompiledApi, Pipeline, Runtime } from './runtime.js';

/** Which API, and which of its operations, a request is for. */

/**
 * The API for this request (HTTP/2 sends :authority instead of Host). A Host the TLS
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

/** The operation's pipeline (404 / 405 with Allow), or the API's when it lists none. */
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
