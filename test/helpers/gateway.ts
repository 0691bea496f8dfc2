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
}

/**
 * Start the real `gatehouse` CLI with a YAML config on ephemeral ports. The config should use
 * `http: 0` and `admin: { listen: 0 }`; the ports are read from the `listening` log lines.
 */
export async function startGateway(yaml: string, opts: StartOptions = {}): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, yaml);
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), content);
  const proc = spawn(process.execPath, [CLI, 'start', '--config', configFile, ...(opts.args ?? [])], {
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  const waiters = new Set<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  const onLine = (line: string) => {
    let obj: Record<string, unknown> | undefined;
    if (line.startsWith('{')) {
      try { obj = JSON.parse(line); } catch { /* not json */ }
    }
    if (!obj) { text.push(line); return; }
    logs.push(obj);
    for (const w of waiters) if (w.pred(obj)) { waiters.delete(w); w.resolve(obj); }
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  let exited = false;
  const exit = new Promise<number | null>((res) => proc.on('exit', (code) => { exited = true; res(code); }));

  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15000) => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((res, rej) => {
      const w = { pred, resolve: (l: Record<string, unknown>) => { clearTimeout(t); res(l); } };
      const t = setTimeout(() => {
        waiters.delete(w);
        rej(new Error(`timed out waiting for a log line; output so far:\n${[...text, ...logs.map((l) => JSON.stringify(l))].slice(-40).join('\n')}`));
      }, timeoutMs);
      waiters.add(w);
      exit.then(() => { if (waiters.has(w)) { waiters.delete(w); clearTimeout(t); rej(new Error(`gatehouse exited; output:\n${[...text, ...logs.map((l) => JSON.stringify(l))].slice(-40).join('\n')}`)); } });
    });
  };

  const wanted = opts.waitFor ?? (/\badmin\s*:/.test(yaml) ? ['http', 'admin'] : ['http']);
  const ports: Record<string, number> = {};
  await Promise.all(
    wanted.map(async (name) => {
      const l = await waitForLog((x) => x.msg === 'listening' && x.listener === name, opts.timeoutMs ?? 20000);
      ports[name] = l.port as number;
    }),
  );
  for (const l of logs) if (l.msg === 'listening' && typeof l.listener === 'string') ports[l.listener] = l.port as number;
  const port = ports.http ?? 0;
  return {
    proc, port, ports, logs, text, configFile, dir, waitForLog,
    url: `http://127.0.0.1:${port}`,
    adminUrl: ports.admin ? `http://127.0.0.1:${ports.admin}` : '',
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const code = await exit;
      clearTimeout(t);
      return code;
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
