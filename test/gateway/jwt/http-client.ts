/** A raw HTTP client for e2e tests: exact header lines (duplicates included), no normalization. */
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: Record<string, unknown> | undefined;
}

export function send(url: string, path: string, headers: Array<[string, string]> = [], method = 'GET', opts: { localAddress?: string } = {}): Promise<RawResponse> {
  const u = new URL(url);
  // with raw header arrays node adds nothing itself: send Host like any client
  const flat: string[] = headers.some(([k]) => k.toLowerCase() === 'host') ? [] : ['Host', u.host];
  for (const [k, v] of headers) flat.push(k, v);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path, method, headers: flat, agent: false, localAddress: opts.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try { json = JSON.parse(body); } catch { /* not json */ }
        resolve({ status: res.statusCode!, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
