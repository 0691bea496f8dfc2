import { connect, type Socket } from 'node:net';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Raw HTTP/1.1 over TCP for tests that must send what an HTTP client library refuses to send
 * (duplicate headers, obs-fold, bare LF, smuggling attempts), and read exactly what came back.
 */

export interface RawResponse {
  status: number;
  reason: string;
  /** lower-case names; repeated headers joined with ', ' */
  headers: Record<string, string>;
  /** every header line, in order, as [name, value] */
  headerList: Array<[string, string]>;
  body: Buffer;
  /** interim (1xx) responses seen before this one */
  interim: Array<{ status: number; headers: Record<string, string> }>;
}

export interface RawExchange {
  /** every byte the server sent */
  raw: Buffer;
  /** the responses parsed from `raw` (more than one when requests were pipelined) */
  responses: RawResponse[];
  /** the server closed the connection (as opposed to our timeout) */
  closed: boolean;
}

/**
 * Send `data` on a fresh connection and collect what the server answers until it closes the
 * connection or `idleMs` passes without a byte (then we close). `data` may be a list of pieces
 * written with `gapMs` in between.
 */
export function rawRequest(
  port: number,
  data: string | Buffer | Array<string | Buffer>,
  opts: { idleMs?: number; gapMs?: number; host?: string; endAfterWrite?: boolean } = {},
): Promise<RawExchange> {
  const idleMs = opts.idleMs ?? 1500;
  return new Promise((resolve, reject) => {
    const socket = connect(port, opts.host ?? '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      socket.destroy();
      try {
        resolve({ raw, responses: parseResponses(raw), closed });
      } catch (err) {
        reject(err);
      }
    };
    const arm = () => { clearTimeout(timer); timer = setTimeout(finish, idleMs); };
    socket.on('data', (c: Buffer) => { chunks.push(c); arm(); });
    socket.on('end', () => { closed = true; finish(); });
    socket.on('close', () => { closed = true; finish(); });
    socket.on('error', () => { /* reset by the server counts as closed */ });
    socket.on('connect', async () => {
      const pieces = Array.isArray(data) ? data : [data];
      for (const p of pieces) {
        if (socket.destroyed) break;
        socket.write(p);
        if (opts.gapMs) await sleep(opts.gapMs);
      }
      if (opts.endAfterWrite) socket.end();
      arm();
    });
  });
}

/** Open a connection and hand it to the caller (for tests that interleave reads and writes). */
export function rawConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host, () => resolve(s));
    s.once('error', reject);
  });
}

/** Read from a socket until `pred(bytesSoFar)` holds or the timeout passes. */
export function readUntil(socket: Socket, pred: (buf: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const check = () => {
      const b = Buffer.concat(chunks);
      if (pred(b)) { cleanup(); resolve(b); }
    };
    const onData = (c: Buffer) => { chunks.push(c); check(); };
    const onEnd = () => { cleanup(); resolve(Buffer.concat(chunks)); };
    const t = setTimeout(onEnd, timeoutMs);
    const cleanup = () => { clearTimeout(t); socket.off('data', onData); socket.off('end', onEnd); socket.off('close', onEnd); };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    check();
  });
}

/** Parse a sequence of HTTP/1.1 responses (Content-Length, chunked, or until close). */
export function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  let interim: RawResponse['interim'] = [];
  while (pos < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', pos);
    if (headEnd === -1) break;
    const head = raw.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head[0]!);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(head[0])}`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    const headerList: Array<[string, string]> = [];
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      headerList.push([name, value]);
      const k = name.toLowerCase();
      headers[k] = headers[k] === undefined ? value : `${headers[k]}, ${value}`;
    }
    pos = headEnd + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      interim.push({ status, headers });
      continue;
    }
    let body: Buffer;
    if (status === 101 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      if (status === 101) { body = raw.subarray(pos); pos = raw.length; }
    } else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', pos);
        if (lineEnd === -1) { pos = raw.length; break; }
        const size = parseInt(raw.subarray(pos, lineEnd).toString('latin1'), 16);
        pos = lineEnd + 2;
        if (!size) { const te = raw.indexOf('\r\n', pos); pos = te === -1 ? raw.length : te + 2; break; }
        parts.push(raw.subarray(pos, pos + size));
        pos += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = raw.subarray(pos, pos + n);
      pos += n;
    } else {
      body = raw.subarray(pos);
      pos = raw.length;
    }
    out.push({ status, reason: m[2]!, headers, headerList, body, interim });
    interim = [];
  }
  return out;
}

/**
 * Assert that `r` is an RFC 9457 problem made by the gateway: the status, problem+json, a
 * request id in the body equal to the X-Request-Id header, a stable reason code, and nothing
 * that looks like a stack trace or an internal address.
 */
export function assertProblem(r: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer | string }, status: number | number[], code?: string | RegExp): Record<string, unknown> {
  const statuses = Array.isArray(status) ? status : [status];
  const text = r.body.toString();
  assert.ok(statuses.includes(r.status), `expected status ${statuses.join(' or ')}, got ${r.status}: ${text.slice(0, 300)}`);
  const ct = String(r.headers['content-type'] ?? '');
  assert.match(ct, /^application\/problem\+json/, `content-type is ${ct}; body ${text.slice(0, 200)}`);
  const p = JSON.parse(text) as Record<string, unknown>;
  assert.equal(p.status, r.status);
  assert.equal(typeof p.code, 'string');
  assert.equal(p.type, `urn:gatehouse:problem:${p.code}`);
  assert.equal(typeof p.title, 'string');
  assert.equal(typeof p.requestId, 'string');
  assert.ok((p.requestId as string).length > 0);
  const hdrId = r.headers['x-request-id'];
  assert.equal(hdrId, p.requestId, 'X-Request-Id header and problem requestId agree');
  if (code instanceof RegExp) assert.match(p.code as string, code);
  else if (code !== undefined) assert.equal(p.code, code);
  assertNoLeak(text);
  return p;
}

/** No stack trace, no loopback address with a port, no file paths in a client-facing body. */
export function assertNoLeak(text: string): void {
  assert.doesNotMatch(text, /\n\s+at .+\(|at [\w.<>]+ \(\/|node:internal/, `stack trace leaked: ${text.slice(0, 300)}`);
  assert.doesNotMatch(text, /127\.0\.0\.1|localhost|::1|\b\d{1,3}(\.\d{1,3}){3}:\d+/, `internal address leaked: ${text.slice(0, 300)}`);
  assert.doesNotMatch(text, /\/(home|tmp|work|usr)\//, `file path leaked: ${text.slice(0, 300)}`);
  assert.doesNotMatch(text, /ECONN|UND_ERR/, `internal error code leaked: ${text.slice(0, 300)}`);
}

/**
 * Counts everything that reaches a backend server, including requests whose body never ended;
 * `aborted` turns true when the gateway cancels the request (the connection closes first).
 */
export function watchBackend(server: Server): { connections: number; requests: Array<{ method: string; url: string; complete: boolean; aborted: boolean; bytes: number }> } {
  const state = { connections: 0, requests: [] as Array<{ method: string; url: string; complete: boolean; aborted: boolean; bytes: number }> };
  server.on('connection', () => { state.connections++; });
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const r = { method: req.method ?? '', url: req.url ?? '', complete: false, aborted: false, bytes: 0 };
    state.requests.push(r);
    req.on('data', (c: Buffer) => { r.bytes += c.length; });
    req.on('end', () => { r.complete = true; });
    req.on('aborted', () => { r.aborted = true; });
    req.on('close', () => { if (!req.complete) r.aborted = true; });
    // a body-less request is complete at once: its cancellation shows as the connection closing
    // before the response was sent
    res.on('close', () => { if (!res.writableFinished) r.aborted = true; });
  });
  return state;
}

/** A bare node:http server with a custom handler (not recording bodies), on an ephemeral port. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number; url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server, port, url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A TCP port on which nothing listens (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait until `pred()` holds, polling; fails after `timeoutMs`. */
export async function waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
