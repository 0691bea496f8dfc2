import { testExchange } from '../../helpers/exchange.js';
import { policyContext, type TestPolicyContext } from '../../helpers/policy-context.js';
/**
 * A PolicyContext and Exchange for unit tests of policies, where a real request adds nothing.
 * End-to-end behaviour is tested through the real gateway in test/e2e.
 */
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
  return testExchange(r);
}

/** Run a handler; a Reply or undefined (continue). */
export async function run(h: Handler, ex: Exchange): Promise<Reply | undefined> {
  return await h(ex);
}
