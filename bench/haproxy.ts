import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario } from './harness.js';

/**
 * `npm run bench haproxy` (issue 19): the same security chain in HAProxy (Debian's package) and in
 * Gatehouse, with the bare node:http + undici proxy as the floor of the Node stack.
 *
 * The chain, in both: an IP allow-list of 1,000 networks; the bearer token verified RS256 on every
 * request (HAProxy `jwt_verify`; Gatehouse `validate-jwt`, which keeps verified tokens in its
 * cache), its `iss`, `aud` and `exp` checked; the request rate tracked per `sub` (HAProxy: a stick
 * table with `http_req_rate`; Gatehouse: `rate-limit-by-key` on `{jwt.sub}`, memory store), with a
 * limit no bench request reaches; one log line per request on stdout.
 *
 * HAProxy runs one thread (`nbthread 1`) like one Gatehouse process; CPU per request is read from
 * /proc for its one process.
 */

export function haproxyPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
}

export const IP_LIST = Array.from({ length: 999 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`).concat(['127.0.0.1']);

/** Gatehouse's side of the chain. */
export function gatehouseChainYaml(backendUrl: string, idpUrl: string, accessLog = true): string {
  return `gateway:
  listen: { http: 0 }${accessLog ? '' : '\n  log: { access: false }'}
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
            openid-config: "${idpUrl}/RS256/.well-known/openid-configuration"
            audiences: [api://orders]
            issuers: [https://idp.bench]
        - rate-limit-by-key:
            calls: 1000000
            renewal-period: 1
            counter-key: "{jwt.sub}"
`;
}

/** HAProxy's side of the chain. */
export function haproxyConfig(port: number, backendUrl: string, dir: string, publicPem: string): string {
  const pem = join(dir, 'rs256.pem');
  const allow = join(dir, 'allow.lst');
  writeFileSync(pem, publicPem);
  writeFileSync(allow, IP_LIST.join('\n') + '\n');
  const backend = new URL(backendUrl);
  return `global
  nbthread 1
  maxconn 4096
  log stdout format raw local0

defaults
  mode http
  log global
  option httplog
  option http-keep-alive
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s

frontend chain
  bind 127.0.0.1:${port}
  acl allowed_ip src -f ${allow}
  http-request deny deny_status 403 unless allowed_ip
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${pem}") -m int 1 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('$.iss') -m str https://idp.bench }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('$.aud') -m str api://orders }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 unless { var(txn.exp),sub(txn.now) -m int gt 0 }
  http-request set-var(txn.sub) var(txn.bearer),jwt_payload_query('$.sub')
  http-request deny deny_status 401 unless { var(txn.sub) -m found }
  http-request track-sc0 var(txn.sub) table per_sub
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 1000000 }
  default_backend app

backend per_sub
  stick-table type string len 128 size 200k expire 10s store http_req_rate(1s)

backend app
  http-reuse always
  server b ${backend.hostname}:${backend.port} maxconn 128
`;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`haproxy did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A bench scenario running HAProxy with the chain; its stdout (the request log) is read and dropped. */
export function haproxyScenario(bin: string, backendUrl: string, publicPem: string, token: string): Scenario {
  return {
    name: 'haproxy 2.6, same chain (jwt_verify RS256 every request)',
    load: { headers: { authorization: `Bearer ${token}` } },
    start: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-haproxy-'));
      const port = await freePort();
      const cfg = join(dir, 'haproxy.cfg');
      writeFileSync(cfg, haproxyConfig(port, backendUrl, dir, publicPem));
      const child = spawn(bin, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stdout!.resume();
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      const exited = new Promise<never>((_, rej) => child.once('exit', (c) => rej(new Error(`haproxy exited ${c}:\n${err}`))));
      await Promise.race([waitForPort(port), exited]);
      exited.catch(() => {});
      return {
        url: `http://127.0.0.1:${port}/orders/7`,
        pid: child.pid!,
        stop: () => new Promise<void>((r) => {
          if (child.exitCode !== null) return r();
          child.once('exit', () => r());
          child.kill('SIGTERM');
        }),
      };
    },
  };
}

/**
 * Before measuring: the chain really is enforced (a good token passes; a token with a broken
 * signature, an expired token and no token are refused), so a misconfigured proxy cannot look fast.
 */
export async function checkChain(url: string, tokens: { good: string; expired: string }): Promise<string | undefined> {
  const [h, p, s] = tokens.good.split('.');
  const forged = `${h}.${p}.${s!.slice(0, -4)}${s!.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const cases: Array<[string, string | undefined, boolean]> = [
    ['good token', tokens.good, true], ['forged signature', forged, false], ['expired token', tokens.expired, false], ['no token', undefined, false],
  ];
  const until = Date.now() + 10_000;
  for (const [what, tok, pass] of cases) {
    let r: Response;
    let body: ArrayBuffer;
    do { // the signing keys load after start: 503 token-keys-unavailable until then
      r = await fetch(url, { headers: tok === undefined ? {} : { authorization: `Bearer ${tok}` } });
      body = await r.arrayBuffer();
    } while (r.status === 503 && Date.now() < until && (await new Promise((w) => setTimeout(w, 100)), true));
    if ((r.status === 200) !== pass) return `${what}: status ${r.status} ${Buffer.from(body).toString().slice(0, 300)}`;
  }
  return undefined;
}
