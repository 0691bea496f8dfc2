import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

/**
 * A prototype for issue 19, measured against bench/bare-proxy.ts: the same bare reverse proxy
 * (keep-alive pool, hop-by-hop headers removed, no checks, no log), but the backend's response is
 * written straight to the client's response from undici's `dispatch` handler callbacks, instead of
 * `request()` with its promise and its Readable body piped to the response. Backpressure both
 * ways: the request body is the client's IncomingMessage (undici reads it as a stream); a full
 * client socket pauses the backend's response (onData returns false, resumed on 'drain'). A client
 * that goes away aborts the backend request. Not the gateway's forwarder: it has none of its
 * retries, policies, timeouts or problems, and exists to measure what the change could save.
 */
const target = process.argv[2]!;
const pool = new Pool(target, { connections: 128, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'host', 'expect']);

/** The request's headers for the backend, from the raw pairs (no object built by node:http needed). */
function requestHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

class Writer {
  private abort: ((err?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  constructor(private readonly res: ServerResponse) {
    res.on('close', () => { if (!res.writableFinished) this.abort?.(new Error('client closed')); });
  }

  onConnect(abort: (err?: Error) => void): void { this.abort = abort; }
  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    this.resume = resume;
    const flat: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!.toString('latin1');
      if (!HOP.has(k.toLowerCase())) flat.push(k, raw[i + 1]!.toString('latin1'));
    }
    this.res.writeHead(status, flat);
    return true;
  }
  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resume!);
    return false;
  }
  onComplete(): void { this.res.end(); }
  onError(): void {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch({ path: req.url!, method: req.method as 'GET', headers: requestHeaders(req.rawHeaders), body: hasBody ? req : null }, new Writer(res) as never);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'bare dispatch proxy', port: (server.address() as AddressInfo).port })));
