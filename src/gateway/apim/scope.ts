import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { ApimLoadError, readPolicyDocument, SECTIONS, type XmlElement } from '../../apim/index.js';
import type { Fail } from '../compile/scopes.js';
import type { PolicyEntry, PolicySections } from '../schema.js';
import { deploymentModel, loadFragments, managedIdentityOf, loadNamedValues, type ApimConfig, type ApimEnv } from './env.js';

/**
 * `policy-xml: FILE` at a scope (global, product, API, operation) becomes that scope's policy
 * sections: each section is its policies before `<base/>`, the outer scope's (base), and its
 * policies after; a section without `<base/>` inherits nothing, as in the service. The blocks
 * are compiled with the other policies of the pipeline (compile/pipeline.ts).
 */

/** A run of XML policy elements in one section of one scope. */
export interface XmlBlock {
  elements: XmlElement[];
  /** `global`, `product`, `api`, `operation` */
  scope: string;
  env: ApimEnv;
}

/** The env of a config: named values, fragments, deployment. Throws on unreadable files. */
export function apimEnv(cfg: ApimConfig | undefined, dir: string, logger: Logger, backendIds: ReadonlySet<string> | undefined): ApimEnv {
  const namedValues = loadNamedValues(cfg?.['named-values'], dir);
  const fragments = loadFragments(cfg?.fragments === undefined ? undefined : resolve(dir, cfg.fragments), namedValues);
  return {
    namedValues, fragments, deploymentModel: deploymentModel(cfg?.deployment), logger,
    loggers: cfg?.loggers === undefined ? undefined : new Set(Object.keys(cfg.loggers)),
    maxSeries: cfg?.metrics?.['max-series'], managedIdentity: managedIdentityOf(cfg), backendIds,
    warn: (w) => logger.warn({ code: w.code, file: w.pos.file, line: w.pos.line, column: w.pos.column }, w.message),
  };
}

/** The sections of an XML document as policy entries; undefined (reported) when it does not load. */
export function xmlSections(file: string, dir: string, scope: string, env: ApimEnv, path: Array<string | number>, fail: Fail): PolicySections | undefined {
  const full = resolve(dir, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch {
    fail(path, `policy document not found: ${file} (relative paths are read from the config file's folder)`);
    return undefined;
  }
  try {
    const doc = readPolicyDocument(text, { file: full, namedValues: env.namedValues });
    if (doc.kind !== 'policies') {
      fail(path, `${file} is a ${doc.snippet === true ? 'snippet with no <policies> root' : '<fragment>'}; policy-xml names a <policies> document (fragments go in apim.fragments)`);
      return undefined;
    }
    const out: PolicySections = {};
    for (const s of SECTIONS) {
      const sec = doc.sections[s];
      const entries: PolicyEntry[] = [];
      const block = (els: XmlElement[]) => { if (els.length) entries.push({ kind: 'xml', block: { elements: els, scope, env } }); };
      if (sec === undefined || sec.baseIndex < 0) {
        if (scope !== 'global') entries.push({ kind: 'skip-base' });
        if (scope !== 'global' && sec !== undefined) env.warn({ code: 'base-omitted', message: `<${s}> has no <base/>: the policies of the outer scopes do not run here`, pos: sec.element.pos });
        if (sec !== undefined) block(sec.policies);
      } else {
        block(sec.policies.slice(0, sec.baseIndex));
        if (scope !== 'global') entries.push({ kind: 'base' });
        block(sec.policies.slice(sec.baseIndex));
      }
      out[s] = entries;
    }
    return out;
  } catch (err) {
    if (err instanceof ApimLoadError) { fail(path, err.message); return undefined; }
    throw err;
  }
}

interface Scoped { policies?: PolicySections; 'policy-xml'?: string }
interface ProductScoped extends Scoped { id?: string; name?: string; 'subscription-required'?: boolean }

/** Replace `policy-xml` by the sections it defines, in place, for every scope of the config. */
export function applyPolicyXml(
  config: Scoped & { apim?: ApimConfig; backends: Record<string, unknown>; products?: ProductScoped[]; apis: Array<Scoped & { operations?: Scoped[] }> },
  dir: string, logger: Logger, fail: Fail,
): void {
  const scopes: Array<{ s: Scoped; scope: string; path: Array<string | number> }> = [{ s: config, scope: 'global', path: [] }];
  for (const [i, p] of (config.products ?? []).entries()) scopes.push({ s: p, scope: 'product', path: ['products', i] });
  for (const [i, a] of config.apis.entries()) {
    scopes.push({ s: a, scope: 'api', path: ['apis', i] });
    for (const [j, o] of (a.operations ?? []).entries()) scopes.push({ s: o, scope: 'operation', path: ['apis', i, 'operations', j] });
  }
  const used = scopes.filter((x) => x.s['policy-xml'] !== undefined);
  if (used.length === 0) return;
  let env: ApimEnv;
  try {
    const products = new Map((config.products ?? []).map((p) => [p.id ?? '', { name: p.name ?? p.id ?? '', subscriptionRequired: p['subscription-required'] !== false }]));
    env = { ...apimEnv(config.apim, dir, logger, new Set(Object.keys(config.backends))), products };
  } catch (err) {
    fail(['apim'], err instanceof ApimLoadError ? err.message : `cannot read the apim settings: ${(err as Error).message}`);
    return;
  }
  for (const { s, scope, path } of used) {
    if (s.policies !== undefined) { fail([...path, 'policy-xml'], 'a scope has either policies or policy-xml, not both'); continue; }
    const sections = xmlSections(s['policy-xml']!, dir, scope, env, [...path, 'policy-xml'], fail);
    if (sections) s.policies = sections;
  }
}
