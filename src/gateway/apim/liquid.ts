import { ApimLoadError, type SourcePos } from '../../apim/index.js';
import type { ExchangeContext } from './context.js';

/**
 * The part of set-body's liquid templates that real documents use: `{{ body.a.b }}`,
 * `{{ body.items[0].id }}`, `{{ context.Request.Method }}`, `{{ context.Request.Headers.X-Id }}`,
 * with the `Default` filter. Names under `context` are the object model's (capitalized members
 * and map keys only: nothing else of the gateway is reachable). Tags (`{% … %}`) are refused at
 * load.
 */

type Part = string | { path: string[]; root: 'body' | 'context'; fallback: string | undefined };

const HOLE = /\{\{\s*([^{}]*?)\s*\}\}/g;

export function compileLiquid(src: string, pos: SourcePos): (c: ExchangeContext, body: () => unknown) => string {
  if (src.includes('{%')) throw new ApimLoadError('unsupported-attribute', 'liquid tags ({% … %}) are not supported; only {{ value }} holes with the Default filter', pos);
  const parts: Part[] = [];
  let last = 0;
  for (const m of src.matchAll(HOLE)) {
    parts.push(src.slice(last, m.index));
    last = m.index + m[0].length;
    const [expr, ...filters] = m[1]!.split('|').map((x) => x.trim());
    let fallback: string | undefined;
    for (const f of filters) {
      const d = /^Default:\s*(?:"([^"]*)"|'([^']*)'|(\S+))$/i.exec(f);
      if (!d) throw new ApimLoadError('unsupported-attribute', `the liquid filter "${f}" is not supported (only Default)`, pos);
      fallback = d[1] ?? d[2] ?? d[3];
    }
    const path = expr!.replace(/\[(\d+)\]/g, '.$1').replace(/\["([^"]+)"\]/g, '.$1').split('.').filter((x) => x !== '');
    const root = path.shift();
    if (root !== 'body' && root !== 'context') throw new ApimLoadError('unsupported-attribute', `the liquid value "${expr}" is not under body or context`, pos);
    parts.push({ path, root, fallback });
  }
  parts.push(src.slice(last));
  return (c, body) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') { out += p; continue; }
      const v = p.root === 'body' ? walkJson(body(), p.path) : walkContext(c, p.path);
      out += v === undefined || v === null ? p.fallback ?? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    return out;
  };
}

function walkJson(v: unknown, path: readonly string[]): unknown {
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function walkContext(c: ExchangeContext, path: readonly string[]): unknown {
  let v: unknown = c;
  for (const k of path) {
    if (v === null || v === undefined) return undefined;
    const map = v as { get?: (k: string) => unknown; has?: unknown };
    if (typeof map.get === 'function' && typeof map.has === 'function') {
      const x = map.get(k);
      v = Array.isArray(x) ? x.join(',') : x;
      continue;
    }
    if (!/^[A-Z][A-Za-z]*$/.test(k)) return undefined;
    v = (v as Record<string, unknown>)[k];
    if (typeof v === 'function') return undefined;
  }
  return typeof v === 'object' && v !== null ? String(v) : v;
}
