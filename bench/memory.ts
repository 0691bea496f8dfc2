import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startGatehouse, startNode, ROOT, type Proc } from './harness.js';
import { jwksServer } from './idp.js';
import { IP_LIST } from './haproxy.js';

/**
 * `npm run bench memory` (issue 19): the gateway's resident memory
 *  - with 100,000 live rate-limit keys and 10,000 cached tokens (target ≤ 150 MiB RSS): the full
 *    chain, 10,000 distinct tokens (each verified once, then cached) and a second rate-limit-by-key
 *    on a header with 100,000 distinct values, its window long enough that every key is live;
 *  - while a 1 GB upload and a 1 GB download stream through (target: flat), sampled every 200 ms.
 */

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function sampler(pid: number) {
  const xs: number[] = [];
  const t = setInterval(() => xs.push(rssMiB(pid)), 200);
  return { stop: () => { clearInterval(t); return xs; } };
}

async function ready(url: string, headers: Record<string, string>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    if (r.status !== 503) return;
    await new Promise((w) => setTimeout(w, 100));
  }
}

/** Stream `bytes` through the gateway as an upload (POST) or a download (GET); resolves with what arrived. */
function stream(port: number, kind: 'upload' | 'download', bytes: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 121);
    const req = httpRequest({
      host: '127.0.0.1', port, method: kind === 'upload' ? 'POST' : 'GET',
      path: kind === 'upload' ? '/upload' : `/download/${bytes}`,
      headers: kind === 'upload' ? { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(bytes) } : headers,
    }, (res) => {
      let got = 0;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => { got += d.length; if (kind === 'upload') parts.push(d); });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${kind}: status ${res.statusCode} ${Buffer.concat(parts).toString().slice(0, 200)}`));
        resolve(kind === 'upload' ? (JSON.parse(Buffer.concat(parts).toString()) as { received: number }).received : got);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (kind === 'download') return void req.end();
    let left = bytes;
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', more);
      }
      req.end();
    };
    more();
  });
}

export async function runMemoryBench(): Promise<string> {
  const backend = await startNode([join(ROOT, 'dist', 'bench', 'backend.js')]);
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const idp = await jwksServer();
  const lines: string[] = [];
  let g: Proc | undefined;
  try {
    const yaml = `gateway:
  listen: { http: 0 }
  limits: { max-body-size: 1100000000 }
backends:
  b: { url: "${backendUrl}" }
apis:
  - name: bench
    path: /
    backend: b
    policies:
      inbound:
        - ip-filter: { action: allow, addresses: ${JSON.stringify(IP_LIST)} }
        - validate-jwt:
            openid-config: "${idp.url}/RS256/.well-known/openid-configuration"
            audiences: [api://orders]
            issuers: [https://idp.bench]
        - rate-limit-by-key: { calls: 1000000, renewal-period: 600, counter-key: "{jwt.sub}" }
        - rate-limit-by-key: { calls: 1000000, renewal-period: 600, counter-key: "{request.header.X-Client}" }
`;
    const tokens = await Promise.all(Array.from({ length: 10_000 }, (_, i) => idp.token('RS256', `user-${i}`)));
    g = await startGatehouse(yaml);
    const pid = g.child.pid!;
    const base = `http://127.0.0.1:${g.port}`;
    const auth = { authorization: `Bearer ${tokens[0]}` };
    await ready(`${base}/orders/7`, auth);
    const idle = rssMiB(pid);
    const requests = Array.from({ length: 100_000 }, (_, i) => ({ method: 'GET', path: '/orders/7', headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, 'x-client': `client-${i}` } }));
    const r = await autocannon({ url: base, connections: 16, amount: requests.length, requests } as autocannon.Options);
    await new Promise((w) => setTimeout(w, 2000));
    const loaded = rssMiB(pid);
    lines.push('| state | RSS MiB |', '|---|---:|', `| started, idle | ${idle.toFixed(1)} |`,
      `| after 100,000 requests: 100,000 live rate-limit keys (X-Client) + 10,000 (sub), 10,000 cached tokens | ${loaded.toFixed(1)} (target ≤ 150 ${loaded <= 150 ? '✓' : '✗'}) |`,
      '', `(${r.requests.total} requests, ${r.non2xx} non-2xx, ${r.errors} errors)`, '');

    const GB = 1_000_000_000;
    for (const kind of ['upload', 'download'] as const) {
      const s = sampler(pid);
      const t0 = performance.now();
      const got = await stream(g.port, kind, GB, auth);
      const secs = (performance.now() - t0) / 1000;
      const xs = s.stop();
      const min = Math.min(...xs);
      const max = Math.max(...xs);
      // the trend: RSS at each tenth of the transfer (flat = bounded buffers, not growing with the bytes)
      const tenths = Array.from({ length: 10 }, (_, i) => xs[Math.min(xs.length - 1, Math.floor(((i + 1) * xs.length) / 10) - 1)]!.toFixed(0)).join(', ');
      lines.push(`1 GB ${kind}: ${got === GB ? 'all bytes arrived' : `**${got} bytes arrived**`} in ${secs.toFixed(1)} s (${(GB / 2 ** 20 / secs).toFixed(0)} MiB/s); gateway RSS during it ${min.toFixed(1)}–${max.toFixed(1)} MiB over ${xs.length} samples (before: ${loaded.toFixed(1)} MiB); at each tenth of the transfer: ${tenths} MiB`);
      lines.push('');
    }
  } finally {
    await g?.stop();
    await backend.stop();
    idp.close();
  }
  const out = lines.join('\n');
  console.log(out);
  return out;
}
