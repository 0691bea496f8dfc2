import { constants, type Http2Stream, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';

/**
 * Bounds on client connections that the HTTP servers do not enforce themselves.
 *
 * HTTP/2 sessions:
 * - a session that opens no stream within the header timeout is closed (an idle TLS connection
 *   would otherwise hold a `max-connections` slot);
 * - a session with no open stream is closed after the keep-alive timeout (a stream waiting on a
 *   slow backend keeps it open);
 * - rapid reset (CVE-2023-44487): a client that cancels streams before their response, again and
 *   again, gets GOAWAY with ENHANCE_YOUR_CALM once it has cancelled `maxPrematureResets` streams
 *   and at least half of all the streams it opened (the rule Envoy applies), and the session is
 *   closed. Cancelled streams are never forwarded (the request lifecycle checks before it
 *   forwards), so a reset costs the gateway a parse, never a backend request.
 */
export interface SessionLimits {
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  maxPrematureResets: number;
}

export type ClosedReason = 'no-stream' | 'rapid-reset';

export function guardHttp2Session(session: ServerHttp2Session, limits: SessionLimits, onClosed: (reason: ClosedReason) => void): void {
  let streams = 0;
  let open = 0;
  let premature = 0;
  let shutting = false;
  const shut = (reason: ClosedReason, code: number) => {
    if (shutting || session.destroyed) return;
    shutting = true;
    onClosed(reason);
    shutDown(session, code);
  };
  const firstStream = setTimeout(() => { if (streams === 0) shut('no-stream', constants.NGHTTP2_NO_ERROR); }, limits.headerTimeoutMs);
  firstStream.unref();
  session.once('close', () => clearTimeout(firstStream));
  session.setTimeout(limits.idleTimeoutMs, () => {
    if (open === 0 && !session.closed) session.close();
  });
  session.on('stream', (stream: Http2Stream) => {
    streams++;
    open++;
    // 'aborted': the peer reset the stream before our response was complete
    stream.once('aborted', () => {
      if (++premature >= limits.maxPrematureResets && premature * 2 >= streams) shut('rapid-reset', constants.NGHTTP2_ENHANCE_YOUR_CALM);
    });
    stream.once('close', () => { open--; });
  });
}

/**
 * GOAWAY with `code`, then close: the goaway and close together end the connection for the peer
 * at once (destroy() alone was seen to leave the peer's connection open); what is still open is
 * destroyed a moment later.
 */
function shutDown(session: ServerHttp2Session, code: number): void {
  try {
    session.goaway(code);
    session.close();
  } catch { /* already closing */ }
  const t = setTimeout(() => session.destroy(), 50);
  t.unref();
}

/**
 * Answer on a raw socket and close it: the answer is written, our side is ended, and the socket
 * is destroyed a moment later whether or not the peer closes its side (a peer that ignores our
 * FIN must not keep the connection, and its `max-connections` slot, forever).
 */
export function answerAndClose(socket: Socket, text: string): void {
  // once our answer and FIN are with the kernel, a short grace for the client to read them, then
  // the socket goes (and with it the connection's slot); at most a second if it never flushes
  const destroy = () => { clearTimeout(t); socket.destroy(); };
  const t = setTimeout(destroy, 1000);
  t.unref();
  socket.once('finish', () => setTimeout(destroy, 100).unref());
  socket.once('close', () => clearTimeout(t));
  socket.end(text);
}

/**
 * HTTP/1.1 over TLS on a listener that also speaks HTTP/2: Node's HTTP/2 server runs such
 * connections without the HTTP/1 server's header and request timeouts. Until a request's headers
 * have arrived, the connection is bounded by the header timeout (Node destroys a socket whose
 * timeout fires with no request to tell); `requestStarted` lifts it, and between requests Node's
 * keep-alive timeout (set on the server object) applies.
 */
export function guardHttp1OverTls(socket: Socket, headerTimeoutMs: number): void {
  socket.setTimeout(headerTimeoutMs);
}

export function requestStarted(socket: Socket): void {
  socket.setTimeout(0);
}
