/** Counter-store URLs: the pieces every kind of store reads. */

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
