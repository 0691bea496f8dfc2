import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The benchmark backend: answers every request with a small JSON body after draining the request;
 * `GET /download/<bytes>` streams that many bytes (64 KiB chunks, with backpressure) and
 * `POST /upload` answers with the number of bytes it drained (bench/memory.ts).
 */
const body = Buffer.from(JSON.stringify({ id: 7, item: 'coffee beans', quantity: 2, status: 'shipped' }));
const chunk = Buffer.alloc(64 * 1024, 120);
const server = createServer((req, res) => {
  const download = /^\/download\/(\d+)$/.exec(req.url ?? '');
  if (download) {
    let left = Number(download[1]);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', more);
      }
      res.end();
    };
    return more();
  }
  let received = 0;
  req.on('data', (d: Buffer) => { received += d.length; });
  req.on('end', () => {
    if (req.url === '/upload') {
      const b = Buffer.from(JSON.stringify({ received }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': b.length });
      return void res.end(b);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'backend', port: (server.address() as AddressInfo).port })));
