import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { accept, GONE, runStages, UPGRADE_STAGES, type Turn } from '../gateway/stages.js';
import { requestTraced } from '../gateway/trace.js';
import type { GatewayContext, ListenerContext } from '../gateway/context.js';
import { renderProblem, PROBLEM_CONTENT_TYPE, statusTitle, type Reply } from '../gateway/reply.js';
import { problem } from '../gateway/problems.js';
import type { Backend } from '../upstream/backend.js';

/**
 * WebSocket upgrades: the upgrade request is routed and runs the inbound policies like any other
 * request (so a token is required where the API requires one); then the two sockets are joined.
 */
export async function handleUpgrade(gw: GatewayContext, listener: ListenerContext, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const t = accept(gw, listener, req, null, false);
  try {
    await upgrade(t, req, socket, head);
  } finally {
    // tracing on: the span ends once the upgrade is answered (101 or refused)
    if (t.ex.span !== undefined) requestTraced(t.ex);
  }
}

async function upgrade(t: Turn, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const { gw, ex } = t;
  const requestId = ex.requestId;
  const refuse = (r: Reply) => {
    ex.status = r.status;
    const body = r.problem ? renderProblem(r.problem, r.status, requestId) : String(r.body ?? '');
    const headers = { ...r.headers, 'content-type': r.problem ? PROBLEM_CONTENT_TYPE : 'text/plain', 'content-length': String(Buffer.byteLength(body)), 'x-request-id': requestId, connection: 'close' };
    socket.end(`HTTP/1.1 ${r.status} ${statusTitle(r.status)}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\r\n')}\r\n\r\n${body}`);
  };
  socket.on('error', () => socket.destroy());
  if (String(req.headers.upgrade).toLowerCase() !== 'websocket') return refuse(problem('upgrade-not-supported', 'Only WebSocket upgrades are supported.'));
  if (t.refused) return refuse(t.refused);
  // the same stages as any request, up to the backend policies (a token is required where the API requires one)
  const r = await runStages(UPGRADE_STAGES, t);
  if (r === GONE) return;
  if (r) return refuse(r);
  // the client went away while a policy waited: nothing is forwarded
  if (socket.destroyed) return;
  const api = t.api!;
  const clientIp = ex.clientIp;
  const backend = ex.backend as Backend | undefined;
  if (!backend) return refuse(problem('backend-not-configured', 'This API has no backend.'));
  // undici writes Connection/Upgrade itself from `protocol` (and refuses them as headers)
  const headers: Record<string, unknown> = { ...ex.upstreamHeaders, host: backend.host };
  delete headers['content-length'];
  ex.span?.inject(headers);
  let up: { headers: Record<string, string | string[] | undefined>; socket: Duplex };
  try {
    up = await backend.dispatcher.upgrade({
      path: backend.basePath + (ex.backendPath || (backend.basePath ? '' : '/')) + (ex.query ? '?' + ex.query : ''),
      method: 'GET',
      headers: headers as Record<string, string>,
      protocol: 'websocket',
    }) as unknown as typeof up;
  } catch (err) {
    gw.logger.warn({ requestId, api: api.name, err: (err as Error).message }, 'backend WebSocket upgrade failed');
    return refuse(problem('backend-upgrade-failed', 'The backend refused or failed the WebSocket upgrade.'));
  }
  if (socket.destroyed) { up.socket.destroy(); return; }
  const lines = ['HTTP/1.1 101 Switching Protocols'];
  for (const [k, v] of Object.entries(up.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  }
  ex.status = 101;
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  if (head.length) up.socket.write(head);
  up.socket.on('error', () => socket.destroy());
  socket.pipe(up.socket).pipe(socket);
  socket.on('close', () => up.socket.destroy());
  up.socket.on('close', () => socket.destroy());
  gw.accessLog?.request({ requestId, method: ex.method, path: ex.path, api: api.name, status: 101, clientIp, traceId: ex.span?.traceId, spanId: ex.span?.spanId });
}
