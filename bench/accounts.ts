import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { load, startNode, ROOT, type LoadResult } from './harness.js';
import { openDb } from '../src/identity/db.js';
import { UserStore } from '../src/identity/accounts.js';
import { hashPassword } from '../src/identity/passwords.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'bench-client-secret-0123456789abcdefgh';
const KEY = 'bench-encryption-key-0123456789abcdef';
const PASSWORD = 'a benchmark passphrase';
/** argon2id, cheap: the password grant then shows the account lookup rather than the hash */
const HASH = { 'memory-cost': 1024, 'time-cost': 1, parallelism: 1 };
const SIZES = [1000, Number(process.env.BENCH_ACCOUNTS ?? 1_000_000)];

const freePort = () => new Promise<number>((res) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
});

const name = (i: number) => `user-${String(i).padStart(7, '0')}`;
const pick = (n: number) => 1 + Math.floor(Math.random() * n);

/**
 * Accounts `from`..`to` (inclusive), inserted by PostgreSQL itself from generate_series in batches
 * of 100,000 rows: the account row and its two login names (username, email address), every
 * account with one password hash computed once (argon2id is meant to be slow: a million distinct
 * hashes would take hours, and the lookup does not depend on the hash).
 */
async function fill(pool: pg.Pool, from: number, to: number, hash: string): Promise<void> {
  for (let lo = from; lo <= to; lo += 100_000) {
    const hi = Math.min(to, lo + 99_999);
    await pool.query(`WITH u AS (
        INSERT INTO users (id, username, email, email_verified, password_hash, roles, groups_, attributes, disabled, created_at, updated_at)
        SELECT gen_random_uuid()::text, n, n || '@example.com', 1, $1, '["reader"]', '[]', '{}', 0, $2, $2
        FROM (SELECT 'user-' || lpad(i::text, 7, '0') AS n FROM generate_series($3::int, $4::int) i) s
        RETURNING id, username, email)
      INSERT INTO logins (login, user_id, kind) SELECT email, id, 'email' FROM u UNION ALL SELECT username, id, 'username' FROM u`,
    [hash, Date.now(), lo, hi]);
  }
  await pool.query('ANALYZE users; ANALYZE logins');
}

/** p50 and p99 in ms of `n` sequential calls */
async function timed(n: number, fn: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 50; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { p50: ts[Math.floor(n * 0.5)]!, p99: ts[Math.floor(n * 0.99)]! };
}

interface Row { name: string; p50: number; p99: number; rps?: number; errors?: string }

/**
 * The identity provider at 1,000 and at 1,000,000 accounts (PostgreSQL): the password grant
 * (1,000 different accounts round-robin), client credentials, the sign-in page, the admin lookups
 * of the management API (by id, prefix search) over HTTP, and in process (UserStore, as the
 * management API and `gatehouse users` call it: by login name, a page by id, a prefix search). Target: p99 at 1M within 1.2× of 1k; `users list` pages < 50 ms.
 * Opt-in (`npm run bench -- accounts`): the fill takes minutes and about 1 GB of disk.
 */
export async function runAccountsBench(): Promise<string> {
  const dbName = `gatehouse_bench_accounts_${process.pid}`;
  const url = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-accounts-'));
  const file = join(dir, 'gatehouse.yaml');
  const cli = join(ROOT, 'bin/gatehouse.js');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  let idp: Awaited<ReturnType<typeof startNode>> | undefined;
  const db = await openDb(url, dir);
  const lines: string[] = [];
  try {
    const [port, adminPort] = [await freePort(), await freePort()];
    // one process: the identity provider, and the gateway for its admin listener (management API)
    writeFileSync(file, `gateway:
  listen: { http: 0 }
  admin: { listen: ${adminPort} }
identity:
  listen: { http: ${port} }
  issuer: http://127.0.0.1:${port}/auth
  database: ${url}
  keys: { encryption-key: "${KEY}" }
  passwords: { hash: { memory-cost: ${HASH['memory-cost']}, time-cost: ${HASH['time-cost']} } }
  rate-limits: { sign-in: { per-ip: 1000000, per-subnet: 10000000 } }
  apis: [{ audience: "api://orders", scopes: [orders.read] }]
  clients:
    - { client-id: svc, client-secret: "${SECRET}", grant-types: [client_credentials], scopes: [orders.read] }
    - { client-id: cli, public: true, grant-types: [password], scopes: [orders.read] }
    - { client-id: spa, public: true, grant-types: [authorization_code], redirect-uris: ["http://127.0.0.1:9/cb"], scopes: [orders.read] }
`);
    const hash = await hashPassword(PASSWORD, HASH);
    const users = new UserStore(db);
    const results: Record<number, Row[]> = {};
    const fillTimes: string[] = [];
    let have = 0;
    for (const size of SIZES) {
      const t0 = performance.now();
      await fill(pool, have + 1, size, hash);
      fillTimes.push(`${(size - have).toLocaleString('en')} accounts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      have = size;
      // a fresh process per size: no warm cache carried over from the smaller table
      await idp?.stop();
      idp = await startNode([cli, 'start', '--config', file], { listener: 'admin' });
      const ids = (await pool.query<{ id: string }>('SELECT id FROM users ORDER BY random() LIMIT 1000')).rows.map((r) => r.id);
      results[size] = await measureAt(size, { port, adminPort, pid: idp.child.pid! }, users, ids);
    }
    const [small, big] = SIZES as [number, number];
    lines.push(`Fill (INSERT … SELECT generate_series in PostgreSQL, 100,000 accounts and 200,000 login names per statement, one precomputed argon2id hash for every account): ${fillTimes.join('; ')}.`, '');
    lines.push(`| scenario | ${small.toLocaleString('en')}: p50 ms | p99 ms | ${big.toLocaleString('en')}: p50 ms | p99 ms | p99 ratio (target ≤ 1.2×) | max req/s ${small.toLocaleString('en')} / ${big.toLocaleString('en')} | errors/non-2xx |`);
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    results[small]!.forEach((a, i) => {
      const b = results[big]![i]!;
      const ratio = b.p99 / Math.max(a.p99, 0.001);
      lines.push(`| ${a.name} | ${a.p50.toFixed(2)} | ${a.p99.toFixed(2)} | ${b.p50.toFixed(2)} | ${b.p99.toFixed(2)} | ${ratio.toFixed(2)}× ${ratio <= 1.2 ? '✓' : '✗'} | ${a.rps ?? '–'} / ${b.rps ?? '–'} | ${a.errors ?? '–'} / ${b.errors ?? '–'} |`);
    });
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [cli, 'users', 'list', '--config', file, '--search', name(pick(big)).slice(0, 10), '--limit', '50'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    lines.push('', `\`gatehouse users list --search user-NNNNN --limit 50\` at ${big.toLocaleString('en')} accounts: ${out.trim().split('\n').length} accounts in ${Math.round(performance.now() - t0)} ms for the whole process (Node start, config, connecting and migration check included).`);
  } finally {
    await idp?.stop();
    await db.close();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

async function measureAt(size: number, idp: { port: number; adminPort: number; pid: number }, users: UserStore, ids: string[]): Promise<Row[]> {
  const base = `http://127.0.0.1:${idp.port}/auth`;
  const { pid } = idp;
  const admin = `http://127.0.0.1:${idp.adminPort}`;
  const row = (n: string, r: LoadResult): Row => ({ name: n, p50: r.p50, p99: r.p99, rps: r.rps, errors: `${r.errors}/${r.non2xx}` });
  const rows: Row[] = [];
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  rows.push(row('password grant (1,000 accounts round-robin)', await load('password', {
    url: `${base}/token`, pid, method: 'POST', connections: 16,
    requests: Array.from({ length: 1000 }, () => ({ method: 'POST', headers: form, body: new URLSearchParams({ grant_type: 'password', client_id: 'cli', username: name(pick(size)), password: PASSWORD, scope: 'orders.read' }).toString() })),
  })));
  rows.push(row('client credentials', await load('cc', {
    url: `${base}/token`, pid, method: 'POST', connections: 32,
    headers: { ...form, authorization: 'Basic ' + Buffer.from(`svc:${SECRET}`).toString('base64') }, body: 'grant_type=client_credentials&scope=orders.read',
  })));
  // the sign-in page of one interaction, rendered again and again (its cookie sent back)
  const q = new URLSearchParams({ client_id: 'spa', response_type: 'code', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'openid orders.read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
  const start = await fetch(`${base}/auth?${q}`, { redirect: 'manual' });
  const page = new URL(start.headers.get('location')!, base).href;
  const cookie = start.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  rows.push(row('sign-in page', await load('page', { url: page, pid, connections: 16, headers: { cookie } })));
  rows.push(row('admin lookup: GET /management/users/{id} (1,000 accounts round-robin)', await load('admin-id', {
    url: `${admin}/management/users/x`, pid, connections: 16,
    requests: ids.map((id) => ({ method: 'GET', path: `/management/users/${id}` })),
  })));
  rows.push(row('admin search: GET /management/users?search=user-NNNNN&limit=50', await load('admin-search', {
    url: `${admin}/management/users`, pid, connections: 16,
    requests: Array.from({ length: 1000 }, () => ({ method: 'GET', path: `/management/users?search=${name(pick(size)).slice(0, 10)}&limit=50` })),
  })));
  rows.push({ name: 'admin lookup by login name (findByLogin)', ...await timed(2000, () => users.findByLogin(name(pick(size)))) });
  rows.push({ name: 'admin page by id, random cursor (limit 50)', ...await timed(2000, () => users.page({ after: crypto.randomUUID(), limit: 50 })) });
  rows.push({ name: '`users list --search` 10-char prefix (limit 50)', ...await timed(2000, () => users.page({ search: name(pick(size)).slice(0, 10), limit: 50 })) });
  rows.push({ name: '`users list --search user-` (every account matches), random cursor', ...await timed(2000, () => users.page({ search: 'user-', after: name(pick(size)), limit: 50 })) });
  return rows;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runAccountsBench().then((s) => console.log(s), (e) => { console.error(e); process.exit(1); });
}
