import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, startNode, ROOT, type LoadResult } from './harness.js';

const SECRET = 'bench-client-secret-0123456789abcdefgh';
const PASSWORD = 'a benchmark passphrase';

const freePort = () => new Promise<number>((res) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
});

/**
 * Identity provider throughput on one process (`gatehouse start` with only an identity section,
 * SQLite): client_credentials tokens per second (RS256 JWTs; the client secret is a SHA-256 hash
 * compared in constant time) and password-grant logins per second with argon2id at OWASP
 * parameters (19 MiB, t=2, p=1). Targets: ≥ 1,000 tokens/s and ≥ 30 logins/s.
 */
export async function runIdentityBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-identity-'));
  const port = await freePort();
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, `identity:
  listen: { http: ${port} }
  issuer: http://127.0.0.1:${port}/auth
  database: sqlite:./identity.db
  apis: [{ audience: "api://orders", scopes: [orders.read] }]
  clients:
    - { client-id: svc, client-secret: "${SECRET}", grant-types: [client_credentials], scopes: [orders.read] }
    - { client-id: cli, public: true, grant-types: [password], scopes: [orders.read] }
`);
  const cli = join(ROOT, 'bin/gatehouse.js');
  execFileSync(process.execPath, [cli, 'users', 'add', '--config', file, '--username', 'bench', '--password-stdin'], { input: PASSWORD + '\n' });
  const idp = await startNode([cli, 'start', '--config', file], { listener: 'identity' });
  const url = `http://127.0.0.1:${idp.port}/auth/token`;
  const rows: LoadResult[] = [];
  try {
    rows.push(await load('client_credentials token', {
      url, pid: idp.child.pid!, method: 'POST', connections: 32,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`svc:${SECRET}`).toString('base64') },
      body: 'grant_type=client_credentials&scope=orders.read',
    }));
    rows.push(await load('password-grant login (argon2id OWASP)', {
      url, pid: idp.child.pid!, method: 'POST', connections: 16,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'cli', username: 'bench', password: PASSWORD, scope: 'orders.read' }).toString(),
    }));
  } finally {
    await idp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const target: Record<string, number> = { 'client_credentials token': 1000, 'password-grant login (argon2id OWASP)': 30 };
  const lines = [
    '| scenario | per second | target | p50 ms | p99 ms | CPU ms/req | errors/non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.rps} | ≥ ${target[r.name]} ${r.rps >= target[r.name]! ? '✓' : '✗'} | ${r.p50} | ${r.p99} | ${(r.cpuUs / 1000).toFixed(2)} | ${r.errors}/${r.non2xx} |`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runIdentityBench().then((s) => console.log(s), (e) => { console.error(e); process.exit(1); });
}
