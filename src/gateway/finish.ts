import type { Exchange } from './exchange.js';
import type { GatewayContext } from './context.js';
import type { CompiledApi, CompiledOperation } from './runtime.js';
import { requestEnded } from '../observability/tracing.js';
import { requestTraced } from './trace.js';

/** The exchange is over: metrics, access log, done callbacks. */
export function finish(gw: GatewayContext, ex: Exchange, socket: { bytesWritten?: number }, bytesWrittenAtStart: number): void {
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
    gw.accessLog.request({
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
      traceId: ex.span?.traceId,
      spanId: ex.span?.spanId,
    });
  }
  if (gw.recentErrors !== undefined && (status >= 500 || ex.rejectCode !== undefined)) {
    gw.recentErrors.push({ requestId: ex.requestId, api: api?.name, operation: op?.id, status, code: ex.rejectCode });
  }
  if (ex.span !== undefined) requestTraced(ex);
  requestEnded(ex);
  ex.finish();
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
