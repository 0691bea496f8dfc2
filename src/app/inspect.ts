import type { Runtime, Pipeline, Step } from '../gateway/runtime.js';
import { version } from './version.js';

/**
 * What the admin listener shows of a running gateway (Envoy-style admin): the routes with their
 * policy chains, the effective configuration with secrets redacted, and the version.
 */

const chain = (steps: readonly Step[]) => steps.map((s) => s.name);
const sections = (p: Pipeline) => ({ inbound: chain(p.inbound), backend: chain(p.backend), outbound: chain(p.outbound), 'on-error': chain(p['on-error']) });

/** host and path → API → operation → policy chain, per section (the order they run in). */
export function routesOf(rt: Runtime): unknown[] {
  return rt.apis.map((api) => ({
    api: api.name,
    hosts: api.config.hosts ?? ['*'],
    path: api.prefix === '' ? '/' : api.prefix,
    backend: api.backend?.name ?? null,
    beforeOperation: chain(api.early),
    ...(api.operations
      ? { operations: api.operations.all().map((op) => ({ id: op.id, method: op.method, path: `${api.prefix}${op.template}`, policies: sections(op.pipeline) })) }
      : { policies: sections(api.pipeline) }),
  }));
}

const SECRET_KEY = /secret|password|passphrase|token|credential|private|^key$|^k$|^d$|^p$|^q$|^dp$|^dq$|^qi$/i;

/** A copy of a config with secrets replaced by "***" (by key name, header maps, and passwords inside URLs). */
export function redacted(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (key !== '' && SECRET_KEY.test(key)) return '***';
    return value.replace(/\/\/([^/@:\s]*):[^/@\s]*@/g, '//$1:***@');
  }
  if (Array.isArray(value)) return value.map((v) => redacted(v, key));
  // a map of header values (the trace exporter's `headers`) usually carries an API key
  if (key === 'headers' && value !== null && typeof value === 'object') return Object.fromEntries(Object.keys(value).map((k) => [k, '***']));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') ? '***' : redacted(v, k)]));
  }
  return value;
}

/** The effective configuration: the file as loaded, defaults filled in, secrets redacted. */
export function configOf(rt: Runtime): unknown {
  return { file: rt.loaded.file, config: redacted(rt.loaded.config) };
}

export function versionInfo(): { name: string; version: string; node: string } {
  return { name: 'gatehouse', version: version(), node: process.version };
}
