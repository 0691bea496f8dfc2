import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, startNode, ROOT } from './harness.js';
import { startEvilUpstream } from '../test/identity/federation-rig.js';

const RP = { id: 'orders-spa', redirect: 'http://127.0.0.1:9/cb', verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' };

const freePort = () => new Promise<number>((res) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
});

/**
 * A federated sign-in round trip, end to end over HTTP, against the in-test OpenID provider of
 * the federation tests (honest mode: it signs the user in at once, ID tokens RS256): the RP's
 * authorization request with `idp_hint` → the upstream's /authorize → our callback (state,
 * code exchange with PKCE, ID token and nonce checks) → the interaction page (account decision)
 * → the RP's code → its token request. Sign-ins per second, latency, and CPU per sign-in of
 * the Gatehouse identity process (`gatehouse start`, SQLite) alone.
 */
export async function runFederationBench(o: { seconds?: number; concurrency?: number } = {}): Promise<string> {
  const seconds = o.seconds ?? Number(process.env.BENCH_SECONDS ?? 10);
  const concurrency = o.concurrency ?? 8;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-federation-'));
  const upstream = await startEvilUpstream('downstream');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, `identity:
  listen: { http: ${port} }
  issuer: ${origin}/auth
  database: sqlite:./identity.db
  rate-limits: { sign-in: { per-ip: 1000000, per-subnet: 10000000 } }
  apis: [{ audience: "api://orders", scopes: [orders.read] }]
  clients:
    - { client-id: ${RP.id}, public: true, grant-types: [authorization_code], redirect-uris: ["${RP.redirect}"], scopes: [orders.read] }
  federation:
    - { id: upstream, type: oidc, issuer: "${upstream.issuer}", client-id: downstream, client-secret: upstream-secret-0123456789, accounts: { create: true } }
`);
  const idp = await startNode([join(ROOT, 'bin/gatehouse.js'), 'start', '--config', file], { listener: 'identity' });

  /** one sign-in with its own cookie jar; the access token at the end */
  async function signIn(): Promise<void> {
    const jar = new Map<string, string>();
    const get = async (url: URL): Promise<Response> => {
      const r = await fetch(url, { redirect: 'manual', headers: url.origin === origin ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {} });
      if (url.origin === origin) for (const c of r.headers.getSetCookie()) { const [kv] = c.split(';'); const at = kv!.indexOf('='); jar.set(kv!.slice(0, at), kv!.slice(at + 1)); }
      await r.arrayBuffer();
      return r;
    };
    let url = new URL(`${origin}/auth/auth?${new URLSearchParams({ client_id: RP.id, response_type: 'code', redirect_uri: RP.redirect, scope: 'openid orders.read', state: 's', code_challenge: RP.challenge, code_challenge_method: 'S256', idp_hint: 'upstream' })}`);
    for (let i = 0; i < 10 && !url.href.startsWith(RP.redirect); i++) {
      const r = await get(url);
      const loc = r.headers.get('location');
      if (!loc) throw new Error(`sign-in stopped at ${url.pathname} with ${r.status}`);
      url = new URL(loc, url);
    }
    const code = url.searchParams.get('code');
    if (!code) throw new Error(`no code: ${url.href}`);
    const t = await fetch(`${origin}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: RP.id, code, redirect_uri: RP.redirect, code_verifier: RP.verifier }) });
    if (t.status !== 200) throw new Error(`token ${t.status}: ${await t.text()}`);
    await t.arrayBuffer();
  }

  try {
    for (let i = 0; i < 20; i++) await signIn(); // warm up (discovery, JIT, the account created and linked)
    const latencies: number[] = [];
    let errors = 0;
    const cpu0 = cpuSeconds(idp.child.pid!);
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        try { await signIn(); latencies.push(performance.now() - s); } catch { errors++; }
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(idp.child.pid!) - cpu0;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]?.toFixed(1) ?? '-';
    return [
      '| scenario | sign-ins/s | p50 ms | p99 ms | identity CPU ms/sign-in | errors |',
      '|---|---:|---:|---:|---:|---:|',
      `| federated sign-in round trip (OIDC upstream, idp_hint, ${concurrency} concurrent, ${seconds} s) | ${(latencies.length / elapsed).toFixed(1)} | ${at(0.5)} | ${at(0.99)} | ${((cpu * 1000) / Math.max(1, latencies.length)).toFixed(2)} | ${errors} |`,
    ].join('\n');
  } finally {
    await idp.stop();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runFederationBench().then((s) => console.log(s), (e) => { console.error(e); process.exit(1); });
}
