import { backendSchema } from '../../upstream/schema.js';
import { createBackend, type Backend } from '../../upstream/backend.js';
import type { PolicyContext } from '../policy.js';
import { PolicyRunError } from './block.js';

/**
 * Backends for URLs written in policy documents (set-backend-service `base-url`, send-request
 * `<set-url>`): a declared backend whose URL is the same origin and path is used with its
 * settings; another URL gets a backend of its own, with the default settings, created once per
 * origin (at most 64 per config; a policy that builds unbounded URLs cannot exhaust the gateway).
 */
const MAX_ADHOC = 64;

export interface UrlTarget { backend: Backend; path: string }

export function backendsForUrls(ctx: PolicyContext): (url: string) => UrlTarget {
  const cache = ctx.shared('apim:adhoc-backends', () => {
    const m = new Map<string, Backend>();
    ctx.onClose(async () => { for (const b of m.values()) await b.close().catch(() => {}); });
    return m;
  });
  return (raw) => {
    let u: URL;
    try { u = new URL(raw); } catch { throw new PolicyRunError('InvalidUrl', `"${raw}" is not an absolute URL`); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PolicyRunError('InvalidUrl', `"${raw}" is not an http or https URL`);
    let b = cache.get(u.origin);
    if (b === undefined) {
      if (cache.size >= MAX_ADHOC) throw new PolicyRunError('TooManyBackends', `more than ${MAX_ADHOC} backend origins were named by policies; declare the backend in backends`);
      b = createBackend(`url:${u.origin}`, backendSchema.parse({ url: u.origin }) as never, ctx.configDir, { logger: ctx.logger, metrics: ctx.metrics });
      cache.set(u.origin, b);
    }
    return { backend: b, path: (u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')) + u.search };
  };
}
