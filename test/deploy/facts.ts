import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseDuration } from '../../src/config/units.js';
import { ROOT } from '../helpers/gateway.js';

/**
 * What the deployment files must agree on, read from the files themselves: the Dockerfile's
 * instructions by stage, and the ports and shutdown timeout of a Gatehouse config.
 */

export interface Instruction { op: string; args: string; line: number }
export interface Stage { from: string; name?: string; instructions: Instruction[] }

/** Split a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      line = line.trimEnd().slice(0, -1);
      i++;
      if (!/^\s*#/.test(lines[i]!)) line += ' ' + lines[i]!.trim();
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: f?.[1] ?? args, name: f?.[2], instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ op, args, line: start });
    }
  }
  return stages;
}

export interface ListenFacts { http: number; admin: number; adminHost: string; shutdownTimeout: number }

/** The gateway's public HTTP port, admin port and host, and shutdown timeout (seconds) of a config. */
export function listenFacts(configYaml: string): ListenFacts {
  const gw = (parse(configYaml) as { gateway?: Record<string, unknown> }).gateway ?? {};
  const listen = gw.listen as { http?: number | { port: number } } | undefined;
  const http = typeof listen?.http === 'object' ? listen.http.port : listen?.http;
  const admin = (gw.admin as { listen?: number | { port: number; host?: string } } | undefined)?.listen ?? 9090;
  return {
    http: http ?? NaN,
    admin: typeof admin === 'object' ? admin.port : admin,
    adminHost: typeof admin === 'object' ? admin.host ?? '127.0.0.1' : '127.0.0.1',
    shutdownTimeout: parseDuration(gw['shutdown-timeout'] as string | number ?? 15) ?? NaN,
  };
}

/** `${ENV:NAME}` references of a config that have no `:-default` (an unset one is an error). */
export function requiredEnv(configYaml: string): string[] {
  return [...new Set([...configYaml.matchAll(/\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))].sort();
}

/**
 * What is wrong with a Dockerfile for Gatehouse, as messages (none when it is right): the final
 * stage runs node:24-*-slim as a non-root user, drops dev dependencies, writes only under a
 * VOLUME, exposes exactly the config's gateway and admin ports, stops with SIGTERM, and its
 * HEALTHCHECK asks the admin listener's /healthz with node (slim images have no curl).
 */
export function dockerfileProblems(text: string, ports: { http: number; admin: number }): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  if (stages.length < 2) return ['not a multi-stage build (a builder stage and a final stage)'];
  const build = stages.slice(0, -1);
  const final = stages.at(-1)!;
  const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);
  const slim = /^node:24-[a-z0-9]+-slim$/;
  if (!slim.test(final.from)) problems.push(`the final stage is FROM ${final.from}, not node:24-<debian>-slim`);
  for (const s of build) if (!slim.test(s.from)) problems.push(`the builder stage ${s.name ?? ''} is FROM ${s.from}, not node:24-<debian>-slim (native modules must match the final image)`);

  const buildRuns = build.flatMap((s) => all(s, 'RUN').map((i) => i.args)).join('\n');
  if (!/\bnpm ci\b/.test(buildRuns)) problems.push('the builder stage does not run npm ci');
  if (!/\btsc\b|npm run build/.test(buildRuns)) problems.push('the builder stage does not compile (tsc)');
  if (!/--omit=dev/.test(buildRuns + all(final, 'RUN').map((i) => i.args).join('\n'))) problems.push('dev dependencies are not dropped (npm prune --omit=dev or npm ci --omit=dev)');
  if (/\bnpm (ci|install)\b(?!.*--omit=dev)/.test(all(final, 'RUN').map((i) => i.args).join('\n'))) problems.push('the final stage installs dependencies with dev dependencies');

  const user = all(final, 'USER').at(-1)?.args.split(':')[0];
  if (user === undefined) problems.push('the final stage has no USER (it would run as root)');
  else if (user === 'root' || user === '0') problems.push(`the final stage runs as ${user}`);
  else if (!/^\d+$/.test(user)) problems.push(`USER ${user} is a name: use the numeric uid so Kubernetes' runAsNonRoot can check it`);

  const exposed = all(final, 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0])).sort((a, b) => a - b);
  const wanted = [ports.http, ports.admin].sort((a, b) => a - b);
  if (exposed.join() !== wanted.join()) problems.push(`EXPOSE ${exposed.join(' ')} is not the config's gateway and admin ports (${wanted.join(' ')})`);

  const stop = all(final, 'STOPSIGNAL').at(-1)?.args;
  if (stop !== undefined && stop !== 'SIGTERM') problems.push(`STOPSIGNAL ${stop}: Gatehouse drains on SIGTERM`);

  const hc = all(final, 'HEALTHCHECK').at(-1)?.args;
  if (hc === undefined) problems.push('no HEALTHCHECK');
  else {
    if (!new RegExp(`http://(127\\.0\\.0\\.1|localhost):${ports.admin}/healthz\\b`).test(hc)) problems.push(`the HEALTHCHECK does not ask the admin listener's /healthz (port ${ports.admin})`);
    if (/\b(curl|wget)\b/.test(hc)) problems.push('the HEALTHCHECK uses curl or wget, which slim images do not have');
    if (!/CMD\s+\[\s*"node"/.test(hc)) problems.push('the HEALTHCHECK is not an exec-form node command');
  }

  const volumes = all(final, 'VOLUME').flatMap((i) => (i.args.startsWith('[') ? JSON.parse(i.args) as string[] : i.args.split(/\s+/)));
  if (volumes.length === 0) problems.push('no VOLUME for the data the process writes (SQLite)');
  for (const run of all(final, 'RUN')) {
    for (const m of run.args.matchAll(/\bchown\s+(?:-R\s+)?\S+\s+((?:\/\S+\s*)+)/g)) {
      for (const dir of m[1]!.trim().split(/\s+/)) {
        if (!volumes.includes(dir)) problems.push(`line ${run.line}: ${dir} is made writable for the process but is not a VOLUME (the root filesystem is read-only)`);
      }
    }
  }
  if (all(final, 'ENTRYPOINT').length === 0 && all(final, 'CMD').length === 0) problems.push('no ENTRYPOINT or CMD');
  return problems;
}

export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
