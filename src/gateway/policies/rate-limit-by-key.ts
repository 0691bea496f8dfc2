import { z } from 'zod';
import { definePolicy, type PolicyContext } from '../policy.js';
import { type Headers } from '../reply.js';
import { problem } from '../problems.js';
import type { Exchange } from '../exchange.js';
import { duration } from '../../config/units.js';
import { ConfigError } from '../../config/errors.js';
import type { SlidingDecision } from '../../state/types.js';
import {
  IncrementCondition, OnStoreError, checkWorkers, compileCondition, counterKeys, namespace, parseCount, retryAfterHeader, seconds, storeFallbacks,
  storeReadiness,
} from './kit/counters.js';
import { HeaderName, VariableName, keyTemplate } from './kit/fields.js';

export const RateLimitByKeyConfig = z.strictObject({
  calls: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .describe(
      'Calls (units of `increment-count`) admitted per key in any window of `renewal-period`. The window keeps one entry per ' +
        'admitted call, so for large counts over long periods use quota-by-key.',
    ),
  'renewal-period': duration({ min: 1, max: 31 * 86400 }).describe('Length of the sliding window, in seconds (or `1m`, `1h`).'),
  'counter-key': keyTemplate(
    'Key template of the counter, e.g. `{request.ip}`, `{jwt.sub}`, `{request.header.X-Api-Key}`, `{api.name}:{jwt.sub}`. ' +
      'When a part resolves to nothing (missing header or claim) the request counts against the one shared fallback counter `(missing)`.',
  ),
  'increment-condition': IncrementCondition.optional(),
  'increment-count': z
    .union([z.number().int().min(0), z.string().min(1)])
    .default(1)
    .describe(
      'Units one call uses (weighted limits): a number, or a template resolving to one (`{request.header.X-Cost}`). ' +
        'A template that does not resolve to a non-negative integer counts 1.',
    ),
  'retry-after-header-name': retryAfterHeader('Header that carries the seconds to wait on a 429.'),
  'retry-after-variable-name': VariableName.optional().describe('Variable set to the seconds to wait when the call is rejected (for on-error policies).'),
  'remaining-calls-variable-name': VariableName.optional().describe('Variable set to the calls left in the window (`{var.<name>}` in later policies).'),
  'remaining-calls-header-name': HeaderName.optional().describe('Header set on every response to the calls left in the window.'),
  'total-calls-header-name': HeaderName.optional().describe('Header set on every response to `calls`.'),
  'ratelimit-headers': z
    .boolean()
    .default(false)
    .describe('Set the IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10).'),
  'on-store-error': OnStoreError,
});

type Config = z.output<typeof RateLimitByKeyConfig>;

/** `increment-count`: a constant, or a template that renders the units of one call (1 when it does not render a count). */
function compileWeight(inc: Config['increment-count'], ctx: PolicyContext): (ex: Exchange) => number {
  if (typeof inc === 'number') return () => inc;
  if (/^\d+$/.test(inc)) {
    const n = Number(inc);
    return () => n;
  }
  const t = ctx.compileTemplate(inc, ['increment-count']);
  if (t.constant) throw new ConfigError('must be a number or a template resolving to one', ['increment-count']);
  return (ex) => parseCount(t.render(ex)) ?? 1;
}

export const rateLimitByKey = definePolicy({
  name: 'rate-limit-by-key',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline' },
  description:
    'Limits the calls per key (client IP, token subject, API key, ...) in a sliding window: never more than `calls` units ' +
    'admitted in any window of `renewal-period` seconds. Over the limit the caller gets 429 `rate-limit-exceeded` with a ' +
    '`Retry-After` after which the call is admitted. Counters live in `gateway.store` (memory, Redis or Redis Cluster).',
  example: `rate-limit-by-key:
  calls: 100
  renewal-period: 60
  counter-key: "{jwt.sub}"
  increment-condition: { status: ["2xx"] }
  remaining-calls-header-name: X-RateLimit-Remaining`,
  schema: RateLimitByKeyConfig,
  create(config: Config, ctx) {
    const store = ctx.store();
    checkWorkers(store, 'rate-limit-by-key', ctx.gateway.workers);
    storeReadiness(ctx, store, ctx.gateway.store);
    const keyT = ctx.compileTemplate(config['counter-key'], ['counter-key']);
    const weightOf = compileWeight(config['increment-count'], ctx);
    const calls = config.calls;
    const periodMs = Math.round(config['renewal-period'] * 1000);
    const periodS = Math.round(config['renewal-period']);
    const keyOf = counterKeys(namespace('rl', ctx.location));
    const counts = compileCondition(config['increment-condition']);
    const retryHeader = config['retry-after-header-name'].toLowerCase();
    const remainingHeader = config['remaining-calls-header-name'];
    const totalHeader = config['total-calls-header-name'];
    const ietf = config['ratelimit-headers'];
    const policyField = `"rate-limit-by-key";q=${calls};w=${periodS}`;
    const denyOnError = config['on-store-error'] === 'deny';
    const wantsHeaders = remainingHeader !== undefined || totalHeader !== undefined || ietf;
    const retryVar = config['retry-after-variable-name'];
    const remainingVar = config['remaining-calls-variable-name'];
    const fallbacks = storeFallbacks(ctx);

    const stateHeaders = (ex: Exchange | undefined, h: Headers | undefined, remaining: number, resetS: number) => {
      const set = (n: string, v: string) => (h ? (h[n.toLowerCase()] = v) : ex!.addResponseHeader(n, v));
      if (remainingHeader) set(remainingHeader, String(remaining));
      if (totalHeader) set(totalHeader, String(calls));
      if (ietf) {
        set('RateLimit-Policy', policyField);
        set('RateLimit', `"rate-limit-by-key";r=${remaining};t=${resetS}`);
      }
    };

    const decide = (ex: Exchange, key: string, d: SlidingDecision | null) => {
      if (d === null) {
        fallbacks.inc({ policy: 'rate-limit-by-key', action: denyOnError ? 'deny' : 'allow' });
        if (!denyOnError) return undefined;
        return problem('rate-limit-store-unavailable', 'The rate limit cannot be checked right now. Try again shortly.', {
          headers: { [retryHeader]: '1' },
        });
      }
      if (!d.allowed) {
        const headers: Headers = {};
        let detail: string;
        if (d.waitMs === Infinity) {
          detail = `This call uses more units than the limit of ${calls} allows; it is never admitted.`;
        } else {
          const wait = seconds(d.waitMs);
          headers[retryHeader] = String(wait);
          if (retryVar) ex.setVar(retryVar, wait);
          detail = `Rate limit is exceeded. Try again in ${wait} seconds.`;
        }
        if (remainingVar) ex.setVar(remainingVar, Math.max(0, calls - d.used));
        if (wantsHeaders) stateHeaders(undefined, headers, Math.max(0, calls - d.used), d.waitMs === Infinity ? periodS : seconds(d.waitMs));
        return problem('rate-limit-exceeded', detail, { headers });
      }
      if (remainingVar) ex.setVar(remainingVar, Math.max(0, calls - d.used));
      if (wantsHeaders) stateHeaders(ex, undefined, Math.max(0, calls - d.used), seconds(d.waitMs));
      if (counts !== undefined && d.token !== '') {
        const token = d.token;
        ex.onDone((done) => {
          if (!counts(done.status)) void store.slidingRefund(key, periodMs, token);
        });
      }
      return undefined;
    };

    return (ex) => {
      const key = keyOf(keyT.render(ex));
      const d = store.slidingHit(key, calls, periodMs, weightOf(ex));
      if (d instanceof Promise) return d.then((r) => decide(ex, key, r));
      return decide(ex, key, d);
    };
  },
});
