import { request } from 'undici';
import { tracer, type Span } from '../observability/tracing.js';

/**
 * Fetch a small JSON document (discovery, JWKS) defensively: a timeout, a size limit, https
 * unless the host is loopback or insecure http is allowed, and redirects followed only within
 * the same host and scheme (never to another host, never https → http).
 */
export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
  allowInsecureHttp: boolean;
  /** redirects followed on the same host (default 3) */
  maxRedirects?: number;
}

export interface FetchedJson {
  json: unknown;
  /** seconds from Cache-Control max-age (s-maxage ignored), undefined when absent */
  maxAge: number | undefined;
  /** Cache-Control no-store / no-cache */
  noCache: boolean;
  /** final URL after same-host redirects */
  url: string;
}

export class FetchError extends Error {}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h === '[::1]' || h === '::1') return true;
  return /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(h);
}

/** Throws FetchError when `url` may not be fetched under the rules above. */
export function checkFetchUrl(raw: string, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError(`"${raw}" is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (allowInsecureHttp || isLoopbackHost(url.hostname)) return url;
    throw new FetchError(`${url.origin} uses http: keys must come over https unless the host is loopback or allow-insecure-http is true`);
  }
  throw new FetchError(`${url.protocol} URLs are not supported; use https`);
}

function parseCacheControl(v: string | string[] | undefined): { maxAge: number | undefined; noCache: boolean } {
  const s = Array.isArray(v) ? v.join(',') : v ?? '';
  let maxAge: number | undefined;
  let noCache = false;
  for (const part of s.split(',')) {
    const [k, val] = part.trim().toLowerCase().split('=') as [string, string | undefined];
    if (k === 'no-store' || k === 'no-cache') noCache = true;
    else if (k === 'max-age' && val !== undefined && /^\d{1,9}$/.test(val.replace(/"/g, ''))) maxAge = Number(val.replace(/"/g, ''));
  }
  return { maxAge, noCache };
}

/** Drop a response body without ever leaving an unhandled 'error' event (that would kill the process). */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => {});
  body.destroy();
}

/**
 * Fetch a JSON document (see FetchOptions). With tracing on, inside a traced operation (a key
 * refresh, a request) the fetch is a client span and the server receives its `traceparent`.
 */
export async function fetchJson(rawUrl: string, opts: FetchOptions): Promise<FetchedJson> {
  const { text, ...rest } = await fetchText(rawUrl, opts, 'application/json, application/jwk-set+json');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FetchError('the document is not JSON');
  }
  return { json, ...rest };
}

/** Fetch a small text document (e.g. SAML metadata) under the same rules as fetchJson. */
export async function fetchText(rawUrl: string, opts: FetchOptions, accept: string): Promise<Omit<FetchedJson, 'json'> & { text: string }> {
  const span = tracer()?.start('GET', 'client', 'active-only', { 'http.request.method': 'GET', 'url.full': spanUrl(rawUrl) });
  if (span === undefined) return fetchOnce(rawUrl, opts, accept, undefined);
  try {
    const fetched = await fetchOnce(rawUrl, opts, accept, span);
    span.set('http.response.status_code', 200);
    return fetched;
  } catch (e) {
    span.fail((e as Error).message);
    throw e;
  } finally {
    span.end();
  }
}

/** the URL for a span: without user information, query or fragment */
function spanUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '';
  }
}

async function fetchOnce(rawUrl: string, opts: FetchOptions, accept: string, span: Span | undefined): Promise<Omit<FetchedJson, 'json'> & { text: string }> {
  let url = checkFetchUrl(rawUrl, opts.allowInsecureHttp);
  const sent: Record<string, string> = { accept };
  span?.inject(sent);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const maxRedirects = opts.maxRedirects ?? 3;
  for (let hop = 0; ; hop++) {
    let res;
    try {
      res = await request(url, {
        method: 'GET',
        headers: sent,
        signal,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
    } catch (e) {
      throw new FetchError(signal.aborted ? `timed out after ${opts.timeoutMs} ms` : `request failed: ${(e as Error).message}`);
    }
    const { statusCode, headers, body } = res;
    if (statusCode >= 300 && statusCode < 400 && headers.location !== undefined) {
      discard(body);
      const loc = Array.isArray(headers.location) ? headers.location[0]! : headers.location;
      let next: URL;
      try {
        next = new URL(loc, url);
      } catch {
        throw new FetchError('redirect to an invalid location');
      }
      if (next.host !== url.host || next.protocol !== url.protocol) {
        throw new FetchError(`redirect to another host or scheme (${next.protocol}//${next.host}) refused`);
      }
      if (hop >= maxRedirects) throw new FetchError('too many redirects');
      url = next;
      continue;
    }
    if (statusCode !== 200) {
      discard(body);
      throw new FetchError(`HTTP ${statusCode}`);
    }
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      discard(body);
      throw new FetchError(`document larger than ${opts.maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        size += (chunk as Buffer).length;
        if (size > opts.maxBytes) {
          discard(body);
          throw new FetchError(`document larger than ${opts.maxBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (e) {
      if (e instanceof FetchError) throw e;
      throw new FetchError(signal.aborted ? `timed out after ${opts.timeoutMs} ms` : `reading the body failed: ${(e as Error).message}`);
    }
    return { text: Buffer.concat(chunks).toString('utf8'), ...parseCacheControl(headers['cache-control']), url: url.href };
  }
}
