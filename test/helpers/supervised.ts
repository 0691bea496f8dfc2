import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, type RunningGateway } from './gateway.js';

/**
 * The real `gatehouse` process for tests that try to kill it. Unlike `startGateway`, the process
 * runs in its own process group, the group is killed when start-up fails or times out, and every
 * group still running when the test process exits is killed too. The handle says whether the
 * process is alive and, once it died, how (exit code or signal, and its last output).
 */

export interface SupervisedGateway extends RunningGateway {
  /** set once the process exited */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** the process has not exited */
  alive(): boolean;
  /** exit status and the last lines of output, for failure messages */
  describe(lines?: number): string;
  /** SIGKILL the whole process group at once */
  kill(): void;
}

const groups = new Set<number>();
let hooked = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // last resort: a test runner that exits (or a test that forgot to stop) leaves nothing behind
  process.on('exit', () => { for (const pid of groups) killGroup(pid, 'SIGKILL'); });
}

export interface SupervisedOptions {
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** listeners to wait for (default: http, and admin when the config has one) */
  waitFor?: string[];
  timeoutMs?: number;
}

export async function startSupervisedGateway(yaml: string, opts: SupervisedOptions = {}): Promise<SupervisedGateway> {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, yaml);
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), content);
  const proc: ChildProcess = spawn(process.execPath, [CLI, 'start', '--config', configFile], {
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = proc.pid;
  if (pid !== undefined) groups.add(pid);
  const logs: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  const waiters = new Set<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const onLine = (line: string) => {
    let obj: Record<string, unknown> | undefined;
    if (line.startsWith('{')) {
      try { obj = JSON.parse(line); } catch { /* not json */ }
    }
    if (!obj) { text.push(line); if (text.length > 2000) text.splice(0, 1000); return; }
    logs.push(obj);
    if (logs.length > 20000) logs.splice(0, 10000);
    for (const w of waiters) if (w.pred(obj)) { waiters.delete(w); w.resolve(obj); }
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);

  let exit: SupervisedGateway['exit'];
  const exited = new Promise<void>((res) => {
    proc.on('exit', (code, signal) => {
      exit = { code, signal };
      // the group may still hold children (workers): end them with their parent
      if (pid !== undefined) { killGroup(pid, 'SIGKILL'); groups.delete(pid); }
      for (const w of waiters) w.reject(new Error(`gatehouse exited (code ${code}, signal ${signal})\n${tail(20)}`));
      waiters.clear();
      res();
    });
  });
  const tail = (n: number) => [...text, ...logs.map((l) => JSON.stringify(l))].slice(-n).join('\n');

  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15000) => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    if (exit) return Promise.reject(new Error(`gatehouse exited (code ${exit.code}, signal ${exit.signal})\n${tail(20)}`));
    return new Promise<Record<string, unknown>>((res, rej) => {
      const w = {
        pred,
        resolve: (l: Record<string, unknown>) => { clearTimeout(t); res(l); },
        reject: (e: Error) => { clearTimeout(t); rej(e); },
      };
      const t = setTimeout(() => { waiters.delete(w); rej(new Error(`timed out waiting for a log line; output so far:\n${tail(40)}`)); }, timeoutMs);
      waiters.add(w);
    });
  };

  const kill = () => { if (pid !== undefined) killGroup(pid, 'SIGKILL'); };
  const wanted = opts.waitFor ?? (/\badmin\s*:/.test(yaml) ? ['http', 'admin'] : ['http']);
  const ports: Record<string, number> = {};
  try {
    await Promise.all(wanted.map(async (name) => {
      const l = await waitForLog((x) => x.msg === 'listening' && x.listener === name, opts.timeoutMs ?? 20000);
      ports[name] = l.port as number;
    }));
  } catch (err) {
    kill();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    throw err;
  }
  for (const l of logs) if (l.msg === 'listening' && typeof l.listener === 'string') ports[l.listener] = l.port as number;
  const port = ports.http ?? 0;
  return {
    proc, port, ports, logs, text, configFile, dir, waitForLog,
    url: `http://127.0.0.1:${port}`,
    adminUrl: ports.admin ? `http://127.0.0.1:${ports.admin}` : '',
    get exit() { return exit; },
    alive: () => exit === undefined,
    describe: (lines = 25) => exit === undefined
      ? `gatehouse is running (pid ${pid}); last output:\n${tail(Math.min(lines, 10))}`
      : `gatehouse EXITED (code ${exit.code}, signal ${exit.signal}); last output:\n${tail(lines)}`,
    kill,
    async stop() {
      if (exit === undefined && pid !== undefined) killGroup(pid, 'SIGTERM');
      const t = setTimeout(kill, 5000);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      clearTimeout(t);
      kill();
      return exit?.code ?? null;
    },
  };
}
