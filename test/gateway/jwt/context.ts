import { policyContext, type TestPolicyContext } from '../../helpers/policy-context.js';
/**
 * A PolicyContext and Exchange for unit tests of policies, where a real request adds nothing.
 * End-to-end behaviour is tested through the real gateway in test/e2e.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { Exchange } from '../../../src/gateway/exchange.js';
import type { PolicyContext, PolicyDefinition, Handler } from '../../../src/gateway/policy.js';
import type { Reply } from '../../../src/gateway/reply.js';

export type TestContext = TestPolicyContext;

export function testContext(over: { claimsAvailable?: boolean; configDir?: string; apiName?: string } = {}): TestContext {
  return policyContext({
    claimsAvailable: over.claimsAvailable ?? false,
    configDir: over.configDir ?? process.cwd(),
    api: { name: over.apiName ?? 'orders', prefix: '/orders' },
  });
}

export async function build<S extends z.ZodType>(def: PolicyDefinition<S>, raw: unknown, ctx: PolicyContext = testContext()): Promise<Handler> {
  const config = def.schema.parse(raw);
  return def.create(config as z.output<S>, ctx);
}

export interface FakeRequest {
  headers?: Array<[string, string]>;
  query?: string;
  clientIp?: string;
  method?: string;
  path?: string;
}

/** An Exchange over a fake request; upstreamHeaders starts as the lower-cased incoming headers. */
export function exchange(r: FakeRequest = {}): Exchange {
  const raw: string[] = [];
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers ?? []) {
    raw.push(k, v);
    const lower = k.toLowerCase();
    // node keeps the first of duplicate singleton headers (authorization, host, ...) and joins cookies with "; "
    if (lower === 'cookie' && headers.cookie !== undefined) headers.cookie += `; ${v}`;
    else if (headers[lower] === undefined) headers[lower] = v;
  }
  const url = (r.path ?? '/orders/1') + (r.query ? `?${r.query}` : '');
  const req = { headers, rawHeaders: raw, url, method: r.method ?? 'GET' } as unknown as IncomingMessage;
  const ex = new Exchange(req, null, 'req-1', r.clientIp ?? '127.0.0.1', { name: 'http', protocol: 'http', crl: [] }, r.method ?? 'GET', r.path ?? '/orders/1', r.query ?? '', Date.now());
  ex.upstreamHeaders = { ...headers };
  return ex;
}

/** Run a handler; a Reply or undefined (continue). */
export async function run(h: Handler, ex: Exchange): Promise<Reply | undefined> {
  return await h(ex);
}
