import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

/**
 * The reference point for the gateway's cost: a straightforward best-practice reverse proxy with
 * node:http and undici — a keep-alive pool, streaming both ways, hop-by-hop headers removed — and
 * no checks, no policies, no logs, no metrics.
 */
const target = process.argv[2]!;
const pool = new Pool(target, { connections: 128, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'host', 'expect']);
const strip = (h: IncomingHttpHeaders) => {
  const out: Record<string, string | string[]> = {};
  for (const k in h) if (!HOP.has(k) && h[k] !== undefined) out[k] = h[k]!;
  return out;
};
const server = createServer(async (req, res) => {
  try {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const r = await pool.request({ path: req.url!, method: req.method as 'GET', headers: strip(req.headers), body: hasBody ? req : null });
    res.writeHead(r.statusCode, strip(r.headers as IncomingHttpHeaders));
    pipeline(r.body, res, () => {});
  } catch {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'bare proxy', port: (server.address() as AddressInfo).port })));
