import { createServer, type Socket, type AddressInfo } from 'node:net';

/**
 * A backend that records every byte it receives, request by request, before anything else can
 * normalize it away. It parses just enough HTTP/1.1 (head, Content-Length or chunked body) to
 * answer `200 ok` on a keep-alive connection. A request is recorded as soon as its head has
 * arrived, so a request that is forwarded but never completed still counts; bytes that do not
 * parse as a request are recorded too.
 */

export interface RawSeen {
  /** Date.now() when the head arrived */
  at: number;
  /** the request head as received (request line and header lines, CRLFs included) */
  head: string;
  method: string;
  target: string;
  /** header lines in order, names as sent */
  headers: Array<[string, string]>;
  /** the decoded body so far */
  body: Buffer;
  complete: boolean;
  /** bytes that were not a parsable request */
  unparsable?: Buffer;
}

export interface RawBackend {
  port: number;
  url: string;
  requests: RawSeen[];
  close(): Promise<void>;
}

export function headerOf(r: RawSeen, name: string): string[] {
  const n = name.toLowerCase();
  return r.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

export async function startRawBackend(): Promise<RawBackend> {
  const requests: RawSeen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let current: { seen: RawSeen; chunked: boolean; remaining: number } | undefined;
    const answer = () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok');
    const pump = () => {
      for (;;) {
        if (!current) {
          const end = buf.indexOf('\r\n\r\n');
          if (end === -1) {
            if (buf.length > 1024 * 1024) { requests.push(bad(buf)); socket.destroy(); }
            return;
          }
          const head = buf.subarray(0, end + 4).toString('latin1');
          buf = buf.subarray(end + 4);
          const lines = head.slice(0, -4).split('\r\n');
          const m = /^(\S+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
          if (!m) { requests.push(bad(Buffer.from(head, 'latin1'))); socket.destroy(); return; }
          const headers = lines.slice(1).map((l): [string, string] => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()]; });
          const seen: RawSeen = { at: Date.now(), head, method: m[1]!, target: m[2]!, headers, body: Buffer.alloc(0), complete: false };
          requests.push(seen);
          const te = headers.find(([k]) => k.toLowerCase() === 'transfer-encoding')?.[1] ?? '';
          const cl = Number(headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1] ?? '0');
          current = { seen, chunked: /chunked/i.test(te), remaining: Number.isFinite(cl) ? cl : 0 };
        }
        const c = current;
        if (c.chunked) {
          const eol = buf.indexOf('\r\n');
          if (eol === -1) return;
          const size = parseInt(buf.subarray(0, eol).toString('latin1'), 16);
          if (Number.isNaN(size)) { c.seen.unparsable = Buffer.from(buf); socket.destroy(); return; }
          if (size === 0) {
            // the last chunk, optional trailers, then an empty line
            const end = buf.indexOf('\r\n\r\n', eol);
            if (end === -1) return;
            buf = buf.subarray(end + 4);
          } else {
            if (buf.length < eol + 2 + size + 2) return;
            c.seen.body = Buffer.concat([c.seen.body, buf.subarray(eol + 2, eol + 2 + size)]);
            buf = buf.subarray(eol + 2 + size + 2);
            continue;
          }
        } else {
          const take = Math.min(c.remaining, buf.length);
          c.seen.body = Buffer.concat([c.seen.body, buf.subarray(0, take)]);
          buf = buf.subarray(take);
          c.remaining -= take;
          if (c.remaining > 0) return;
        }
        c.seen.complete = true;
        current = undefined;
        answer();
      }
    };
    socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); pump(); });
  });
  const bad = (raw: Buffer): RawSeen => ({ at: Date.now(), head: '', method: '', target: '', headers: [], body: Buffer.alloc(0), complete: false, unparsable: Buffer.from(raw) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port, url: `http://127.0.0.1:${port}`, requests,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
