import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, load, startNode, table, ROOT, type LoadResult, type Proc } from './harness.js';
import { createPki } from '../test/helpers/certs.js';

/**
 * TLS benchmarks (issue 6), all against one gateway process with a plain HTTP and an HTTPS
 * listener (ECDSA P-256 certificate, TLS 1.3):
 *   - HTTPS keep-alive vs HTTP keep-alive (autocannon, HTTP/1.1): CPU per request of the gateway;
 *   - HTTP/2 vs HTTP/1.1 over TLS: a bounded node:http2 client loop (autocannon has no HTTP/2);
 *   - new TLS handshakes per second: one request per fresh connection (no session resumption).
 * CPU µs/req is the gateway's CPU (user + system from /proc) over the requests it served.
 */

const SECONDS = () => Number(process.env.BENCH_SECONDS ?? 5);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}

/** HTTP/2 load: `sessions` connections, `streams` requests in flight on each, for `seconds`. */
async function h2Load(name: string, url: string, pid: number, o: { sessions: number; streams: number; seconds: number; ca: string; servername: string }): Promise<LoadResult> {
  const sessions: ClientHttp2Session[] = await Promise.all(Array.from({ length: o.sessions }, () => new Promise<ClientHttp2Session>((res, rej) => {
    const s = h2connect(url, { ca: o.ca, servername: o.servername });
    s.once('connect', () => res(s));
    s.once('error', rej);
  })));
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let stop = false;
  const one = (s: ClientHttp2Session) => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const req = s.request({ ':path': '/orders/7', ':authority': o.servername });
    req.on('response', (h) => { if (Number(h[':status']) >= 300) non2xx++; });
    req.on('data', () => {});
    req.on('end', () => { latencies.push(performance.now() - t0); resolve(); });
    req.on('error', () => { errors++; resolve(); });
    req.end();
  });
  const run = async (seconds: number) => {
    stop = false;
    const until = setTimeout(() => { stop = true; }, seconds * 1000);
    await Promise.all(sessions.flatMap((s) => Array.from({ length: o.streams }, async () => { while (!stop) await one(s); })));
    clearTimeout(until);
  };
  await run(1); // warm up
  latencies.length = 0; errors = 0; non2xx = 0;
  const cpu0 = cpuSeconds(pid);
  await run(o.seconds);
  const cpu1 = cpuSeconds(pid);
  for (const s of sessions) s.close();
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  return {
    name, requests: n, rps: Math.round(n / o.seconds), rate: Math.round(n / o.seconds),
    p50: Math.round(latencies[Math.floor(n * 0.5)] ?? NaN), p99: Math.round(latencies[Math.floor(n * 0.99)] ?? NaN),
    cpuUs: n > 0 ? ((cpu1 - cpu0) * 1e6) / n : NaN, errors, non2xx,
  };
}

/** autocannon over HTTPS presenting a client certificate. */
function loadWithClientCert(name: string, url: string, pid: number, seconds: number, tlsOptions: { cert: string; key: string }): Promise<LoadResult> {
  return load(name, { url, pid, seconds, tlsOptions, saturated: true });
}

/** One request per new TLS connection, `concurrency` at a time. */
async function handshakeLoad(url: string, pid: number, o: { concurrency: number; seconds: number; ca: string; servername: string }) {
  let done = 0;
  let errors = 0;
  let stop = false;
  const one = () => new Promise<void>((resolve) => {
    const req = httpsRequest(`${url}/orders/7`, { agent: false, ca: o.ca, servername: o.servername, headers: { host: o.servername, connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => { done++; resolve(); });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end();
  });
  const run = async (seconds: number) => {
    stop = false;
    const t = setTimeout(() => { stop = true; }, seconds * 1000);
    await Promise.all(Array.from({ length: o.concurrency }, async () => { while (!stop) await one(); }));
    clearTimeout(t);
  };
  await run(1);
  done = 0; errors = 0;
  const cpu0 = cpuSeconds(pid);
  const c0 = process.cpuUsage();
  await run(o.seconds);
  const cpu1 = cpuSeconds(pid);
  const c1 = process.cpuUsage(c0);
  return { perSecond: Math.round(done / o.seconds), cpuUsPerHandshake: ((cpu1 - cpu0) * 1e6) / Math.max(done, 1), clientCpuUs: (c1.user + c1.system) / Math.max(done, 1), errors };
}

export async function runTlsBench(): Promise<string> {
  const pki = createPki();
  const seconds = SECONDS();
  const backend = await startNode([join(ROOT, 'dist', 'bench', 'backend.js')]);
  const procs: Proc[] = [backend];
  const out: string[] = [];
  try {
    const [httpPort, httpsPort, mtlsPort] = [await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-tls-'));
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, `gateway:
  listen:
    http: { port: ${httpPort}, host: 127.0.0.1 }
    https:
      - name: https
        port: ${httpsPort}
        host: 127.0.0.1
        certificates: [{ cert: "${pki.serverA.chain}", key: "${pki.serverA.key}" }]
      - name: mtls
        port: ${mtlsPort}
        host: 127.0.0.1
        certificates: [{ cert: "${pki.serverA.chain}", key: "${pki.serverA.key}" }]
        client-certificate: request
        client-ca: ["${pki.rootFile}"]
backends:
  b: { url: "http://127.0.0.1:${backend.port}" }
apis:
  - name: mtls
    path: /mtls
    backend: b
    policies:
      inbound:
        - validate-client-certificate:
            crl: ["${pki.crl}"]
            identities: [{ dns-name: client-valid.clients.test, issuer-subject: "CN=Test Intermediate CA, O=Gatehouse Test" }]
            forward-client-certificate: true
  - { name: bench, path: /, backend: b }
`);
    const gw = await startNode([join(ROOT, 'bin/gatehouse.js'), 'start', '--config', file], { env: { GATEHOUSE_LOG_LEVEL: 'info' }, listener: 'http' });
    procs.push(gw);
    const pid = gw.child.pid!;
    const ca = pki.root.pem;
    // two interleaved rounds, the lower CPU per request of each scenario is kept: the ratios
    // then compare like with like even when the machine is busy with something else
    const scenarios: Array<() => Promise<LoadResult>> = [
      () => load('HTTP/1.1, plain, keep-alive', { url: `http://127.0.0.1:${httpPort}/orders/7`, pid, seconds, saturated: true }),
      () => load('HTTPS/1.1, keep-alive (TLS 1.3)', { url: `https://127.0.0.1:${httpsPort}/orders/7`, pid, seconds, saturated: true }),
      () => h2Load('HTTP/2, 32 connections × 1 stream', `https://127.0.0.1:${httpsPort}`, pid, { sessions: 32, streams: 1, seconds, ca, servername: 'a.test' }),
      () => h2Load('HTTP/2, 4 connections × 8 streams', `https://127.0.0.1:${httpsPort}`, pid, { sessions: 4, streams: 8, seconds, ca, servername: 'a.test' }),
    ];
    const client = { cert: pki.clientValid.chainPem, key: pki.clientValid.keyPem };
    scenarios.push(
      () => loadWithClientCert('HTTPS/1.1 + client certificate, no policy', `https://127.0.0.1:${mtlsPort}/orders/7`, pid, seconds, client),
      () => loadWithClientCert('HTTPS/1.1 + validate-client-certificate (CRL, identity, forward)', `https://127.0.0.1:${mtlsPort}/mtls/orders/7`, pid, seconds, client),
    );
    const rows: LoadResult[] = [];
    for (let round = 0; round < 2; round++) {
      for (const [i, run] of scenarios.entries()) {
        const r = await run();
        if (rows[i] === undefined || r.cpuUs < rows[i]!.cpuUs) rows[i] = r;
      }
    }
    out.push('CPU per request of the gateway process (lower of two interleaved runs); 32 requests in flight in every row (autocannon for HTTP/1.1, a node:http2 loop for HTTP/2).\n');
    out.push(table(rows, 'HTTP/1.1, plain, keep-alive', 'HTTPS/1.1, keep-alive (TLS 1.3)'));
    const hs = await handshakeLoad(`https://127.0.0.1:${httpsPort}`, pid, { concurrency: 16, seconds, ca, servername: 'a.test' });
    out.push('');
    out.push(`New TLS connections (full TLS 1.3 handshake with an ECDSA P-256 certificate, one request each, 16 at a time): ` +
      `**${hs.perSecond}/s**, gateway CPU ${hs.cpuUsPerHandshake.toFixed(0)} µs per connection (client ${hs.clientCpuUs.toFixed(0)} µs, same machine), ${hs.errors} errors.`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
  return out.join('\n');
}

// `node dist/bench/tls.js` runs it alone
if (import.meta.url === `file://${process.argv[1]}`) {
  runTlsBench().then((s) => console.log(s), (err) => { console.error(err); process.exitCode = 1; });
}
