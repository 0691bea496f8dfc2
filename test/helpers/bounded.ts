import { connect, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { parseResponses, type RawResponse } from './raw.js';

/**
 * Bounded raw HTTP/1.1 exchanges: send bytes, and stop at the first complete response, when the
 * server closes, or when the time is up, whichever comes first, and say which it was. Unlike
 * `rawRequest` (which waits for silence), a server that never answers is reported as such.
 */

export interface BoundedExchange {
  raw: Buffer;
  responses: RawResponse[];
  /** the server closed (FIN or reset) */
  closed: boolean;
  /** neither a complete response nor a close within the bound */
  timedOut: boolean;
  elapsedMs: number;
}

/** Whether `raw` holds at least one complete response (Content-Length or chunked framing). */
export function hasCompleteResponse(raw: Buffer): boolean {
  let pos = 0;
  for (;;) {
    const headEnd = raw.indexOf('\r\n\r\n', pos);
    if (headEnd === -1) return false;
    const head = raw.subarray(pos, headEnd).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const body = headEnd + 4;
    if (status >= 100 && status < 200 && status !== 101) { pos = body; continue; }
    if (status === 204 || status === 304 || status === 101) return true;
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
      let p = body;
      for (;;) {
        const eol = raw.indexOf('\r\n', p);
        if (eol === -1) return false;
        const size = parseInt(raw.subarray(p, eol).toString('latin1'), 16);
        if (Number.isNaN(size)) return false;
        if (size === 0) return raw.indexOf('\r\n\r\n', eol) !== -1;
        p = eol + 2 + size + 2;
        if (p > raw.length) return false;
      }
    }
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (cl) return raw.length >= body + Number(cl[1]);
    return false; // body until close
  }
}

export function sendBounded(
  port: number,
  pieces: Array<string | Buffer>,
  opts: { timeoutMs: number; gapMs?: number; host?: string; end?: boolean },
): Promise<BoundedExchange> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: opts.host ?? '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let settled = false;
    let closed = false;
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      let responses: RawResponse[] = [];
      try { responses = parseResponses(raw); } catch { /* not HTTP: reported through raw */ }
      resolve({ raw, responses, closed, timedOut, elapsedMs: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(true), opts.timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (hasCompleteResponse(Buffer.concat(chunks))) finish(false);
    });
    socket.on('end', () => { closed = true; finish(false); });
    socket.on('close', () => { closed = true; finish(false); });
    socket.on('error', () => { closed = true; finish(false); });
    socket.on('connect', async () => {
      for (const p of pieces) {
        if (socket.destroyed || settled) return;
        socket.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.end) socket.end();
    });
  });
}

/** One GET on a fresh connection, bounded; resolves with the status and body, or rejects. */
export function getOnce(url: string, timeoutMs = 10_000, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { clearTimeout(t); resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }); });
      res.on('error', (e) => { clearTimeout(t); reject(e); });
    });
    const t = setTimeout(() => { req.destroy(new Error(`no answer to GET ${url} within ${timeoutMs} ms`)); }, timeoutMs);
    req.on('error', (e) => { clearTimeout(t); reject(e); });
    req.end();
  });
}
