import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Helpers for tests that need Redis: the shared server on 127.0.0.1:6379 (never stopped by a
 * test), and private redis-server processes on spare ports that a test may stop, freeze and
 * restart, or form into a cluster.
 */

export const SHARED_REDIS = 'redis://127.0.0.1:6379';

/** true when something answers PING on host:port within a second */
export function redisUp(port = 6379, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 1000);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { clearTimeout(t); s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.on('error', () => { clearTimeout(t); resolve(false); });
  });
}

/**
 * Skip (loudly) when the shared Redis is down, unless CI=true, where a missing service fails.
 * Returns the `skip` option for node:test.
 */
export async function requireRedis(what = 'Redis on 127.0.0.1:6379'): Promise<string | false> {
  if (await redisUp()) return false;
  const msg = `${what} is not reachable: these tests are SKIPPED`;
  if (process.env.CI === 'true') throw new Error(`${what} is required when CI=true`);
  console.error(`\n!!!!! ${msg} !!!!!\n`);
  return msg;
}

export function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface PrivateRedis {
  port: number;
  url: string;
  proc: ChildProcess;
  dir: string;
  /** SIGKILL and wait for the exit */
  stop(): Promise<void>;
  /** start again on the same port */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that accepts connections but never answers */
  freeze(): void;
  thaw(): void;
}

async function waitUp(port: number, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await redisUp(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not come up`);
}

/** Start a private redis-server (no persistence) on a spare loopback port. */
export async function startRedis(extra: string[] = [], port?: number): Promise<PrivateRedis> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra];
  const r: PrivateRedis = {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    proc: spawn('redis-server', args, { stdio: 'ignore' }),
    dir,
    async stop() {
      const proc = r.proc;
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((res) => proc.once('exit', () => res()));
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await r.stop();
      r.proc = spawn('redis-server', args, { stdio: 'ignore' });
      await waitUp(p);
    },
    freeze() { r.proc.kill('SIGSTOP'); },
    thaw() { r.proc.kill('SIGCONT'); },
  };
  await waitUp(p);
  return r;
}

export interface PrivateCluster {
  nodes: PrivateRedis[];
  /** redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  url: string;
  stop(): Promise<void>;
}

/** Start 3 cluster-enabled masters and form a cluster with `redis-cli --cluster create`. */
export async function startCluster(): Promise<PrivateCluster> {
  const c = await startClusterNodes();
  await c.form();
  return c;
}

/** 3 cluster-enabled masters that do not form a cluster until `form()` (a cluster being created). */
export async function startClusterNodes(): Promise<PrivateCluster & { form(opts?: { wait?: boolean }): Promise<void> }> {
  const nodes: PrivateRedis[] = [];
  for (let i = 0; i < 3; i++) {
    nodes.push(await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '2000']));
  }
  const stop = async () => {
    for (const n of nodes) {
      await n.stop();
      rmSync(n.dir, { recursive: true, force: true });
    }
  };
  return {
    nodes,
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    stop,
    form: async ({ wait = true } = {}) => {
      try {
        await formCluster(nodes, wait);
      } catch (err) {
        await stop();
        throw err;
      }
    },
  };
}

async function formCluster(nodes: PrivateRedis[], wait: boolean): Promise<void> {
  // asynchronously, so that a test can watch gateways while the cluster forms
  const create = spawn(
    'redis-cli',
    ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  create.stdout.on('data', (d: Buffer) => { out += d; });
  create.stderr.on('data', (d: Buffer) => { out += d; });
  const killer = setTimeout(() => create.kill('SIGKILL'), 30000);
  const code = await new Promise<number | null>((res) => create.on('close', res));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`redis-cli --cluster create failed:\n${out}`);
  if (!wait) return;
  const end = Date.now() + 20000;
  for (const n of nodes) {
    for (;;) {
      const info = spawnSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
      if (info.includes('cluster_state:ok')) break;
      if (Date.now() > end) throw new Error(`cluster did not reach state ok:\n${info}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A key prefix unique to this test run, so runs never share counters. */
export function runPrefix(tag: string): string {
  return `ghtest:${tag}:${process.pid}:${Date.now().toString(36)}:`;
}
