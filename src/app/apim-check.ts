import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { ApimLoadError, readPolicyDocument, type PolicyDocument, type XmlElement } from '../apim/index.js';
import { compileSteps } from '../gateway/apim/block.js';
import { apimSchema, deploymentModel, loadFragments, loadNamedValues, managedIdentityOf, type ApimConfig, type ApimEnv, type Warning } from '../gateway/apim/env.js';
import '../gateway/apim/policies/index.js';
import type { PolicyContext, Section } from '../gateway/policy.js';
import { Metrics } from '../observability/metrics.js';
import { createStore } from '../state/index.js';
import { MemoryCacheStore } from '../upstream/cache-store.js';

/**
 * `gatehouse apim check [--config F] [--named-values F] [--fragments DIR] [--format text|json] FILE...`:
 * loads each policy document as the gateway would (the reader, every expression checked, every
 * policy compiled) without running anything, and prints per file `ok (N policies, M expressions)`
 * or `file:line:col: error <code>: <message>`. Exit 0 when every file loads, 1 otherwise.
 */

export class ApimUsage extends Error {}

interface Options { config?: string; namedValues?: string; fragments?: string; format: 'text' | 'json'; files: string[] }

function parseOptions(args: readonly string[]): Options {
  const { values, positionals } = apimArgs(args, {
    config: { type: 'string', short: 'c' }, 'named-values': { type: 'string' }, fragments: { type: 'string' }, format: { type: 'string', default: 'text' },
  });
  const format = values.format as string;
  if (format !== 'text' && format !== 'json') throw new ApimUsage(`--format is text or json, not ${format}`);
  if (positionals.length === 0) throw new ApimUsage('name at least one policy document');
  return { config: values.config as string | undefined, namedValues: values['named-values'] as string | undefined, fragments: values.fragments as string | undefined, format, files: positionals };
}

/** node:util's parseArgs, strict, its errors as usage errors (exit 2) */
export function apimArgs(args: readonly string[], options: ParseArgsConfig['options']): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new ApimUsage((e as Error).message);
  }
}

export interface CheckResult {
  file: string;
  ok: boolean;
  policies: number;
  expressions: number;
  error?: { line: number; column: number; code: string; message: string };
  warnings: Array<{ line: number; column: number; code: string; message: string }>;
}

/** A load-time context that runs nothing: stores in memory, any backend name known. */
function checkContext(dir: string, section: Section, closers: Array<() => Promise<void>>): PolicyContext {
  const logger = pino({ level: 'silent' });
  const metrics = new Metrics({ defaultMetrics: false });
  let store: ReturnType<typeof createStore> | undefined;
  let cache: MemoryCacheStore | undefined;
  const shared = new Map<string, unknown>();
  return {
    configDir: dir, location: 'apim-check', section, api: undefined, operation: undefined, claimsAvailable: true, logger, metrics,
    store: () => { if (!store) { const s = createStore('memory', { logger, metrics }); store = s; closers.push(() => s.close()); } return store; },
    cacheStore: () => { if (!cache) { const c = new MemoryCacheStore({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 }); cache = c; closers.push(() => c.close()); } return cache; },
    maxCacheEntry: 1 << 20,
    gateway: { trustedProxies: [], maxBodyBuffer: 1 << 20, workers: 1, store: 'memory' },
    backend: (name) => ({ name }),
    compileTemplate: () => { throw new Error('templates are not used by XML policies'); },
    readiness: () => {},
    onClose: (fn) => { closers.push(async () => { await fn(); }); },
    onStart: () => {},
    shared: <T>(key: string, create: () => T): T => { if (!shared.has(key)) shared.set(key, create()); return shared.get(key) as T; },
  };
}

/** Load one document; fragments are checked when included. */
export async function checkDocument(file: string, env: Omit<ApimEnv, 'warn'>): Promise<CheckResult> {
  const result: CheckResult = { file, ok: false, policies: 0, expressions: 0, warnings: [] };
  const closers: Array<() => Promise<void>> = [];
  const warn = (w: Warning) => result.warnings.push({ line: w.pos.line, column: w.pos.column, code: w.code, message: w.message });
  try {
    const doc: PolicyDocument = readPolicyDocument(readFileSync(file, 'utf8'), { file, namedValues: env.namedValues });
    const runs: Array<{ section: Section; elements: XmlElement[] }> = [];
    if (doc.kind === 'fragment') {
      await checkFragment(doc.policies, file, env, warn, result, closers);
      result.ok = true;
      return result;
    }
    for (const [name, s] of Object.entries(doc.sections)) {
      runs.push({ section: name as Section, elements: s.policies });
      if (s.baseIndex < 0) warn({ code: 'base-omitted', message: `<${name}> has no <base/>: the policies of the outer scopes do not run here`, pos: s.element.pos });
    }
    for (const r of runs) {
      const section = r.section;
      await compileSteps(r.elements, {
        section, scope: 'api', env: { ...env, warn }, policy: checkContext(dirname(file), section, closers),
        counted: (n) => { result.expressions += n; }, policies: (n) => { result.policies += n; },
      });
    }
    result.ok = true;
  } catch (err) {
    if (!(err instanceof ApimLoadError)) throw err;
    result.error = { line: err.pos.line, column: err.pos.column, code: err.code, message: err.detail };
  } finally {
    for (const c of closers) await c().catch(() => {});
  }
  return result;
}

/**
 * A fragment (or snippet) may sit in any section: it loads when its policies load in one of them,
 * tried in the order inbound, backend, outbound, on-error (a fragment with forward-request is a
 * backend fragment). The error reported is the one for inbound.
 */
async function checkFragment(elements: XmlElement[], file: string, env: Omit<ApimEnv, 'warn'>, warn: (w: Warning) => void, result: CheckResult, closers: Array<() => Promise<void>>): Promise<void> {
  let first: unknown;
  for (const section of ['inbound', 'backend', 'outbound', 'on-error'] as const) {
    let policies = 0;
    let expressions = 0;
    try {
      await compileSteps(elements, {
        section, scope: 'api', env: { ...env, warn }, policy: checkContext(dirname(file), section, closers),
        counted: (n) => { expressions += n; }, policies: (n) => { policies += n; },
      });
      result.policies = policies;
      result.expressions = expressions;
      return;
    } catch (err) {
      if (!(err instanceof ApimLoadError) || err.code !== 'misplaced-policy') throw first ?? err;
      first ??= err;
    }
  }
  throw first;
}

function settingsOf(o: Options): { apim: ApimConfig; dir: string; backendIds: ReadonlySet<string> | undefined } {
  if (o.config === undefined) return { apim: apimSchema.parse({}), dir: process.cwd(), backendIds: undefined };
  const file = resolve(o.config);
  if (!existsSync(file)) throw new ApimUsage(`config file not found: ${o.config}`);
  const raw = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as { apim?: unknown; backends?: Record<string, unknown> };
  const parsed = apimSchema.safeParse(raw.apim ?? {});
  if (!parsed.success) throw new ApimUsage(`${o.config}: apim: ${parsed.error.issues[0]!.message}`);
  return { apim: parsed.data, dir: dirname(file), backendIds: new Set(Object.keys(raw.backends ?? {})) };
}

export async function apimCheckCommand(args: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const o = parseOptions(args);
  const s = settingsOf(o);
  let env: Omit<ApimEnv, 'warn'>;
  try {
    const namedValues = o.namedValues !== undefined ? loadNamedValues(resolve(o.namedValues), process.cwd()) : loadNamedValues(s.apim['named-values'], s.dir);
    const fragDir = o.fragments !== undefined ? resolve(o.fragments) : s.apim.fragments === undefined ? undefined : resolve(s.dir, s.apim.fragments);
    env = {
      namedValues, fragments: loadFragments(fragDir, namedValues), deploymentModel: deploymentModel(s.apim.deployment),
      logger: pino({ level: 'silent' }), loggers: s.apim.loggers === undefined ? undefined : new Set(Object.keys(s.apim.loggers)), backendIds: s.backendIds,
      managedIdentity: managedIdentityOf(s.apim),
    };
  } catch (e) {
    err.write(`gatehouse: ${e instanceof ApimLoadError ? e.message : (e as Error).message}\n`);
    return 1;
  }
  let failed = 0;
  for (const f of o.files) {
    const r = existsSync(f)
      ? await checkDocument(f, env)
      : { file: f, ok: false, policies: 0, expressions: 0, warnings: [], error: { line: 0, column: 0, code: 'file-not-found', message: 'no such file' } };
    if (!r.ok) failed++;
    if (o.format === 'json') { out.write(JSON.stringify(r) + '\n'); continue; }
    for (const w of r.warnings) out.write(`${f}:${w.line}:${w.column}: warning ${w.code}: ${w.message}\n`);
    if (r.ok) out.write(`${f}: ok (${r.policies} policies, ${r.expressions} expressions)\n`);
    else out.write(`${f}:${r.error!.line}:${r.error!.column}: error ${r.error!.code}: ${r.error!.message}\n`);
  }
  return failed ? 1 : 0;
}
