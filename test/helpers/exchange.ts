import type { IncomingMessage } from 'node:http';
import { Exchange, type ApiInfo, type OperationInfo } from '../../src/gateway/exchange.js';

/** What a test says about the request a policy sees. */
export interface ExchangeSpec {
  /** in order, as sent (duplicates kept in rawHeaders; Node's folding applied to `headers`) */
  headers?: Array<[string, string]> | Record<string, string>;
  method?: string;
  path?: string;
  query?: string;
  clientIp?: string;
  /** a stream that plays the request (a body to read), with `headers` set on it; default a plain object */
  req?: object;
  api?: ApiInfo;
  operation?: OperationInfo;
  params?: Record<string, string>;
  claims?: Record<string, unknown>;
  listener?: Exchange['listener'];
  /** upstreamHeaders start as the lower-cased incoming headers (as the route stage makes them) */
  upstream?: boolean;
}

/**
 * The one Exchange builder of tests and benchmarks: a request as the pipeline hands it to a
 * policy, without a socket.
 */
export function testExchange(s: ExchangeSpec = {}): Exchange {
  const raw: string[] = [];
  const headers: Record<string, string> = {};
  const list = Array.isArray(s.headers) ? s.headers : Object.entries(s.headers ?? {});
  for (const [k, v] of list) {
    raw.push(k, v);
    const lower = k.toLowerCase();
    // node keeps the first of duplicate singleton headers (authorization, host, ...) and joins cookies with "; "
    if (lower === 'cookie' && headers.cookie !== undefined) headers.cookie += `; ${v}`;
    else if (headers[lower] === undefined) headers[lower] = v;
  }
  const method = s.method ?? 'GET';
  const path = s.path ?? '/orders/1';
  const url = path + (s.query ? `?${s.query}` : '');
  const req = (s.req ?? {}) as Record<string, unknown>;
  req.headers ??= headers;
  req.rawHeaders ??= raw;
  req.url ??= url;
  req.method ??= method;
  const ex = new Exchange(req as unknown as IncomingMessage, null, 'req-1', s.clientIp ?? '127.0.0.1', s.listener ?? { name: 'http', protocol: 'http' },
    method, path, s.query ?? '', performance.now());
  if (s.upstream !== false) ex.upstreamHeaders = { ...(req.headers as Record<string, string>) };
  if (s.api) ex.api = s.api;
  if (s.operation) ex.operation = s.operation;
  if (s.params) ex.params = s.params;
  if (s.claims) ex.claims = s.claims;
  return ex;
}
