import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** repository root (this file runs from dist/test/helpers) */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(ROOT, 'bin/gatehouse.js');

export interface RunningGateway {
  proc: ChildProcess;
  /** http://127.0.0.1:PORT of the public listener */
  url: string;
  port: number;
  /** http://127.0.0.1:PORT of the admin listener, when one is configured */
  adminUrl: string;
  /** ports by listener name from the `listening` log lines (`http`, `admin`, `identity`, ...) */
  ports: Record<string, number>;
  /** every JSON log line so far */
  logs: Array<Record<string, unknown>>;
  /** non-JSON output (stderr and stdout) */
  text: string[];
  configFile: string;
  dir: string;
  /** wait for a log line matching `pred` (already seen lines count) */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM and wait for exit; resolves with the exit code */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  /** extra files to write next to the config: name → content */
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** listeners to wait for (default: http, and admin when the config has one) */
  waitFor?: string[];
  args?: string[];
  timeoutMs?: number;
  /** write gatehouse.yaml into this folder (files already there stay) instead of a fresh temp folder */
  dir?: string;
}

/**
 * How much longer than on an idle machine a test should wait for a process to start or a log line
 * to appear: GATEHOUSE_TEST_TIME_SCALE, else 2 under CI (a loaded 2-core machine), else 1. Only
 * deadlines scale; tests never assert on time.
 */
export const TIME_SCALE = Number(process.env.GATEHOUSE_TEST_TIME_SCALE ?? (process.env.CI ? 2 : 1)) || 1;
export const scaled = (ms: number): number => Math.round(ms * TIME_SCALE);

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

/**
 * Start the real `gatehouse` CLI with a YAML config on ephemeral ports. The config should use
 * `http: 0` and `admin: { listen: 0 }`; the ports are read from the `listening` log lines.
 *
 * The process runs in its own process group (workers included): the group is killed when
 * start-up fails, times out or the process exits early, when `stop()` is called, and, as a last
 * resort, when the test process exits. Whatever a test starts ends with it, pass or fail.
 */
export async function startGateway(yaml: string, opts: StartOptions = {}): Promise<SupervisedGateway> {
  hookExit();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, yaml);
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), content);
  const proc: ChildProcess = spawn(process.execPath, [CLI, 'start', '--config', configFile, ...(opts.args ?? [])], {
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
      const t = setTimeout(() => { waiters.delete(w); rej(new Error(`timed out waiting for a log line; output so far:\n${tail(40)}`)); }, scaled(timeoutMs));
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
      // both timers cleared once it exited: a pending one would hold the test process 8 s longer
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => { giveUp = setTimeout(r, 8000); })]);
      clearTimeout(t);
      clearTimeout(giveUp);
      kill();
      return exit?.code ?? null;
    },
  };
}

/** Run the CLI to completion (e.g. `validate`) and capture its output. */
export function runCli(args: string[], opts: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.stdin.end(opts.input ?? '');
    proc.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

/** Write a config file into a fresh temp folder and return its path. */
export function writeConfig(yaml: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cfg-'));
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, yaml);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return file;
}
