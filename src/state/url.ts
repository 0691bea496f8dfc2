/** Counter-store URLs: the pieces every kind of store reads. */
import { parseDuration } from '../config/units.js';

export interface StoreUrl {
  /** the whole URL, as configured */
  readonly url: string;
  /** `memory`, `redis`, `rediss`, `redis-cluster`, ... */
  readonly scheme: string;
  /** the URL without its query */
  readonly base: string;
  readonly params: URLSearchParams;
}

export function parseStoreUrl(url: string): StoreUrl {
  const q = url.indexOf('?');
  const base = q === -1 ? url : url.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const scheme = /^([a-z-]+):\/\//.exec(base)?.[1] ?? base;
  return { url, scheme, base, params };
}

export function parseHostPort(h: string, url: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) throw new Error(`store "${redact(url)}": "${h}" is not host:port`);
  const port = m[2] === undefined ? 6379 : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`store "${redact(url)}": port ${port} is out of range`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function onlyParams(url: string, params: URLSearchParams, allowed: string[]): void {
  for (const k of params.keys()) {
    if (!allowed.includes(k)) throw new Error(`store "${redact(url)}": unknown parameter "${k}" (known: ${allowed.join(', ')})`);
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}

/** The parts of a `redis://`, `rediss://` or `redis-cluster://` URL after the scheme. */
export interface RedisAddress {
  nodes: Array<{ host: string; port: number }>;
  /** what follows the first `/` after the hosts ('' when none): the database number for redis:// */
  path: string;
  username: string | undefined;
  password: string | undefined;
}

/** `[user:pass@]host:port[,host:port...][/path]`; `what` names the store in messages. */
export function parseRedisAddress({ url, scheme, base }: StoreUrl, what: string): RedisAddress {
  const rest = base.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@');
  const auth = at === -1 ? '' : rest.slice(0, at);
  const afterAuth = at === -1 ? rest : rest.slice(at + 1);
  const slash = afterAuth.indexOf('/');
  const hosts = slash === -1 ? afterAuth : afterAuth.slice(0, slash);
  const path = slash === -1 ? '' : afterAuth.slice(slash + 1);
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const c = auth.indexOf(':');
    username = decodeURIComponent(c === -1 ? auth : auth.slice(0, c)) || undefined;
    password = c === -1 ? undefined : decodeURIComponent(auth.slice(c + 1));
  }
  if (hosts === '') throw new Error(`${what} "${redact(url)}": no host`);
  return { nodes: hosts.split(',').map((h) => parseHostPort(h, url)), path, username, password };
}

/** The `prefix` and `timeout` parameters every Redis-backed store takes; `what` names the store in messages. */
export function redisPrefixAndTimeout(url: string, params: URLSearchParams, what: string, defaults: { prefix: string; timeout: string; timeoutS: number }): { prefix: string; timeoutS: number } {
  const prefix = params.get('prefix') ?? defaults.prefix;
  if (!/^[A-Za-z0-9_:.-]*$/.test(prefix) || prefix.length > 64) {
    throw new Error(`${what} "${redact(url)}": prefix may only contain letters, digits, _ : . - (64 at most)`);
  }
  const timeoutS = params.has('timeout') ? parseDuration(params.get('timeout')!) : defaults.timeoutS;
  if (timeoutS === undefined || timeoutS <= 0 || timeoutS > 10) {
    throw new Error(`${what} "${redact(url)}": timeout must be a duration between 1ms and 10s, e.g. ${defaults.timeout}`);
  }
  return { prefix, timeoutS };
}
