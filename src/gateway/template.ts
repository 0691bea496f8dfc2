import { ConfigError } from '../config/errors.js';
import type { Exchange } from './exchange.js';

/**
 * Key templates (`counter-key: "{jwt.sub}:{request.ip}"`) over a small, safe vocabulary, compiled
 * at load into a list of getters. Never evaluated code.
 *
 * | placeholder | value |
 * |---|---|
 * | `{request.ip}` | the client IP (see trusted-proxies) |
 * | `{request.method}` / `{request.path}` | method, normalized path |
 * | `{request.header.<Name>}` | first value of a request header |
 * | `{request.query.<name>}` | first value of a query parameter |
 * | `{request.param.<name>}` | a path parameter of the matched operation |
 * | `{jwt.<claim>}` | a claim of the token validated earlier (dots walk into objects) |
 * | `{api.name}` / `{operation.id}` | the matched API / operation |
 * | `{var.<name>}` | a variable set by an earlier policy |
 * | `{subscription.id}` / `{subscription.product}` | the request's subscription / its product (product subscriptions) |
 * | `{user.id}` | the owner of the request's subscription, when it is a user |
 *
 * `render` returns undefined when any placeholder resolves to nothing, so that a caller can use
 * a fallback key: a missing value never lets a request skip a policy.
 */
export interface Template {
  readonly source: string;
  /** true when the template has no placeholders */
  readonly constant: boolean;
  /** true when the template uses `{jwt.*}` */
  readonly usesClaims: boolean;
  render(ex: Exchange): string | undefined;
}

type Getter = (ex: Exchange) => string | undefined;

function claimToString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',');
  return JSON.stringify(v);
}

function headerGetter(name: string): Getter {
  const lower = name.toLowerCase();
  return (ex) => {
    const v = ex.req.headers[lower];
    const s = Array.isArray(v) ? v[0] : v;
    return s === undefined || s === '' ? undefined : s;
  };
}

function claimGetter(path: string[]): Getter {
  if (path.length === 1) {
    const k = path[0]!;
    return (ex) => (ex.claims === undefined ? undefined : claimToString(ex.claims[k]));
  }
  return (ex) => {
    let cur: unknown = ex.claims;
    for (const k of path) {
      if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, k)) return undefined;
      cur = (cur as Record<string, unknown>)[k];
    }
    return claimToString(cur);
  };
}

const NAME = /^[A-Za-z0-9_\-.:]+$/;

function compileVariable(expr: string, claimsAvailable: boolean): { get: Getter; claims: boolean } {
  const dot = expr.indexOf('.');
  const head = dot === -1 ? expr : expr.slice(0, dot);
  const rest = dot === -1 ? '' : expr.slice(dot + 1);
  const need = (what: string) => {
    if (!rest || !NAME.test(rest)) throw new ConfigError(`{${expr}}: ${what} needs a name, e.g. {${head}.${what === 'a header' ? 'X-Api-Key' : 'name'}}`);
  };
  switch (head) {
    case 'request': {
      if (rest === 'ip') return { get: (ex) => ex.clientIp, claims: false };
      if (rest === 'method') return { get: (ex) => ex.method, claims: false };
      if (rest === 'path') return { get: (ex) => ex.path, claims: false };
      const d2 = rest.indexOf('.');
      const kind = d2 === -1 ? rest : rest.slice(0, d2);
      const name = d2 === -1 ? '' : rest.slice(d2 + 1);
      if (!name || !NAME.test(name)) break;
      if (kind === 'header') return { get: headerGetter(name), claims: false };
      if (kind === 'query') return { get: (ex) => ex.queryParams.get(name) || undefined, claims: false };
      if (kind === 'param') return { get: (ex) => ex.params[name] || undefined, claims: false };
      break;
    }
    case 'jwt':
      need('a claim');
      if (!claimsAvailable) {
        throw new ConfigError(`{${expr}} uses token claims, but no validate-jwt runs before this policy`);
      }
      return { get: claimGetter(rest.split('.')), claims: true };
    case 'api':
      if (rest === 'name') return { get: (ex) => ex.api?.name, claims: false };
      break;
    case 'operation':
      if (rest === 'id') return { get: (ex) => ex.operation?.id, claims: false };
      break;
    case 'subscription':
      if (rest === 'id') return { get: (ex) => ex.subscription?.id, claims: false };
      if (rest === 'product') return { get: (ex) => ex.subscription?.product, claims: false };
      break;
    case 'user':
      if (rest === 'id') return { get: (ex) => ex.subscription?.userId, claims: false };
      break;
    case 'var':
      need('a variable');
      return { get: (ex) => claimToString(ex.vars?.[rest]), claims: false };
  }
  throw new ConfigError(
    `unknown placeholder {${expr}}; use {request.ip}, {request.method}, {request.path}, {request.header.<Name>}, ` +
      `{request.query.<name>}, {request.param.<name>}, {jwt.<claim>}, {api.name}, {operation.id}, {subscription.id}, ` +
      `{subscription.product}, {user.id} or {var.<name>}`,
  );
}

/**
 * Compile a template. Throws ConfigError on unknown placeholders or unbalanced braces. `encode`,
 * when given, is applied to each placeholder's value (never to the template's literal text).
 */
export function compileTemplate(source: string, opts: { claimsAvailable: boolean; encode?: (value: string) => string }): Template {
  const parts: Array<string | Getter> = [];
  let usesClaims = false;
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{', i);
    const close = source.indexOf('}', i);
    if (close !== -1 && (open === -1 || close < open)) throw new ConfigError(`unbalanced '}' in template "${source}"`);
    if (open === -1) {
      parts.push(source.slice(i));
      break;
    }
    if (open > i) parts.push(source.slice(i, open));
    const end = source.indexOf('}', open);
    if (end === -1) throw new ConfigError(`unclosed '{' in template "${source}"`);
    const expr = source.slice(open + 1, end).trim();
    const v = compileVariable(expr, opts.claimsAvailable);
    usesClaims ||= v.claims;
    const enc = opts.encode;
    parts.push(enc === undefined ? v.get : (ex) => { const x = v.get(ex); return x === undefined ? undefined : enc(x); });
    i = end + 1;
  }
  if (parts.every((p) => typeof p === 'string')) {
    const value = (parts as string[]).join('');
    return { source, constant: true, usesClaims: false, render: () => value };
  }
  let render: (ex: Exchange) => string | undefined;
  if (parts.length === 1) {
    render = parts[0] as Getter;
  } else {
    render = (ex) => {
      let out = '';
      for (const p of parts) {
        if (typeof p === 'string') out += p;
        else {
          const v = p(ex);
          if (v === undefined) return undefined;
          out += v;
        }
      }
      return out;
    };
  }
  return { source, constant: false, usesClaims, render };
}
