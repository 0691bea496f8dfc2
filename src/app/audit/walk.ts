import type { Config } from '../schema.js';
import type { PolicyEntry, PolicySections } from '../../gateway/schema.js';
import { SECTIONS } from '../../gateway/policy.js';

/**
 * What the audit rules look at besides single keys: every policy of the file with its config
 * path, which requests an authentication policy covers, and which addresses are public.
 */

export type Path = Array<string | number>;

export interface PolicyAt {
  name: string;
  config: Record<string, unknown>;
  /** the path of the policy's name key: `apis[1].policies.inbound[0].validate-jwt` */
  path: Path;
}

function* sectionPolicies(sections: PolicySections | undefined, base: Path): Generator<PolicyAt> {
  for (const s of SECTIONS) {
    for (const [i, e] of (sections?.[s] ?? []).entries()) {
      if (e.kind === 'policy') yield { name: e.name, config: e.config as Record<string, unknown>, path: [...base, s, i, e.name] };
    }
  }
}

/** Every policy of the file: global scope, then each API and its operations. */
export function* policies(cfg: Config): Generator<PolicyAt> {
  yield* sectionPolicies(cfg.policies, ['policies']);
  for (const [i, api] of cfg.apis.entries()) {
    yield* sectionPolicies(api.policies, ['apis', i, 'policies']);
    for (const [j, op] of (api.operations ?? []).entries()) yield* sectionPolicies(op.policies, ['apis', i, 'operations', j, 'policies']);
  }
}

/** Policies that establish who the caller is. check-header counts when it requires a value (a shared key). */
export function authenticates(e: PolicyEntry): boolean {
  // an XML policy document (policy-xml): its validate-jwt, or a check-header with values
  if (e.kind === 'xml') {
    return e.block.elements.some((el) => el.name === 'validate-jwt'
      || el.name === 'check-header' && el.children.some((c) => c.kind === 'element' && c.name === 'value'));
  }
  if (e.kind !== 'policy') return false;
  if (e.name === 'validate-jwt' || e.name === 'validate-client-certificate') return true;
  return e.name === 'check-header' && ((e.config as { values?: unknown[] }).values?.length ?? 0) > 0;
}

/**
 * Whether an inbound list authenticates, given whether its outer scope does: the outer scope runs
 * when the list is absent or names `base` (a list without `base` leaves it out).
 */
export function inboundAuthenticates(list: PolicyEntry[] | undefined, outer: boolean): boolean {
  if (list === undefined) return outer;
  return list.some(authenticates) || (outer && list.some((e) => e.kind === 'base'));
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost|\[::1\])$/i;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** A URL whose host is not this machine. */
export function remoteHttp(url: string): boolean {
  const u = URL.parse(url);
  return u !== null && u.protocol === 'http:' && !isLoopback(u.hostname);
}

/** The listeners of the file bound to a non-loopback address, as [path, address]. */
export function publicBinds(cfg: Config): Array<{ path: Path; host: string }> {
  const out: Array<{ path: Path; host: string }> = [];
  const g = cfg.gateway;
  if (g) {
    const def = g.listen.host;
    const http = g.listen.http;
    if (http !== undefined) {
      const host = typeof http === 'number' ? def : http.host ?? def;
      if (!isLoopback(host)) out.push({ path: typeof http === 'object' && http.host !== undefined ? ['gateway', 'listen', 'http', 'host'] : ['gateway', 'listen', 'host'], host });
    }
    const https = g.listen.https === undefined ? [] : Array.isArray(g.listen.https) ? g.listen.https : [g.listen.https];
    https.forEach((l, i) => {
      const host = l.host ?? def;
      const at: Path = Array.isArray(g.listen.https) ? ['gateway', 'listen', 'https', i] : ['gateway', 'listen', 'https'];
      if (!isLoopback(host)) out.push({ path: l.host !== undefined ? [...at, 'host'] : ['gateway', 'listen', 'host'], host });
    });
  }
  if (cfg.identity && !isLoopback(cfg.identity.listen.host)) out.push({ path: ['identity', 'listen', 'host'], host: cfg.identity.listen.host });
  return out;
}

/** Every string value of the file with its path. */
export function* strings(value: unknown, path: Path = []): Generator<{ value: string; path: Path }> {
  if (typeof value === 'string') yield { value, path };
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, i]);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      // policy entries keep their YAML shape: { kind, name, config } stands for `<name>: config`
      if (k === 'config' && (value as { kind?: unknown }).kind === 'policy') yield* strings(v, [...path, (value as { name: string }).name]);
      else if (k !== 'kind' && k !== 'name' || (value as { kind?: unknown }).kind !== 'policy') yield* strings(v, [...path, k]);
    }
  }
}
