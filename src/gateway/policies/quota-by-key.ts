import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { type Headers } from '../reply.js';
import { problem } from '../problems.js';
import type { Exchange } from '../exchange.js';
import { duration } from '../../config/units.js';
import type { QuotaDecision, QuotaLimits } from '../../state/types.js';
import {
  IncrementCondition, OnStoreError, checkWorkers, compileCondition, counterKeys, namespace, retryAfterHeader, seconds, storeFallbacks, storeReadiness,
} from './kit/counters.js';
import { keyTemplate } from './kit/fields.js';

export const QuotaByKeyConfig = z
  .strictObject({
    calls: z.number().int().min(1).optional().describe('Calls admitted per key and period.'),
    bandwidth: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Kilobytes (1 KB = 1024 bytes) of request plus response bodies per key and period.'),
    'renewal-period': duration({ max: 10 * 366 * 86400 }).describe(
      'Length of a quota period in seconds (or `30d`); `0` is a lifetime quota that never renews.',
    ),
    'first-period-start': z
      .string()
      .default('1970-01-01T00:00:00Z')
      .describe('ISO 8601 instant the periods are aligned to: periods start at first-period-start + n × renewal-period.'),
    'counter-key': keyTemplate(
      'Key template of the quota, e.g. `{jwt.sub}` or `{request.header.X-Subscription}`. A key that does not resolve ' +
        'counts against the one shared fallback counter `(missing)`.',
    ),
    'increment-condition': IncrementCondition.optional(),
    'retry-after-header-name': retryAfterHeader('Header that carries the seconds until the period renews, on a 403.'),
    'ratelimit-headers': z
      .boolean()
      .default(false)
      .describe('Set the IETF `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10) for the calls quota.'),
    'on-store-error': OnStoreError,
  })
  .refine((c) => c.calls !== undefined || c.bandwidth !== undefined, { message: 'set calls, bandwidth or both' })
  .refine((c) => !Number.isNaN(Date.parse(c['first-period-start'])), {
    message: 'not an ISO 8601 instant, e.g. 2026-01-01T00:00:00Z',
    path: ['first-period-start'],
  });

type Config = z.output<typeof QuotaByKeyConfig>;

export const quotaByKey = definePolicy({
  name: 'quota-by-key',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline' },
  description:
    'Caps the calls and/or bandwidth per key over fixed periods (aligned to `first-period-start`) or for the key\'s ' +
    'lifetime. Over quota the caller gets 403 `quota-exceeded` with a `Retry-After` until the period renews. Counters live ' +
    'in `gateway.store`.',
  example: `quota-by-key:
  calls: 10000
  bandwidth: 40000        # KB
  renewal-period: 30d
  first-period-start: "2026-01-01T00:00:00Z"
  counter-key: "{jwt.sub}"`,
  schema: QuotaByKeyConfig,
  create(config: Config, ctx) {
    const store = ctx.store();
    checkWorkers(store, 'quota-by-key', ctx.gateway.workers);
    storeReadiness(ctx, store, ctx.gateway.store);
    const keyT = ctx.compileTemplate(config['counter-key'], ['counter-key']);
    const limits: QuotaLimits = {
      calls: config.calls,
      bytes: config.bandwidth === undefined ? undefined : config.bandwidth * 1024,
      periodMs: Math.round(config['renewal-period'] * 1000),
      anchorMs: Date.parse(config['first-period-start']),
    };
    const keyOf = counterKeys(namespace('q', ctx.location));
    const counts = compileCondition(config['increment-condition']);
    const retryHeader = config['retry-after-header-name'].toLowerCase();
    const denyOnError = config['on-store-error'] === 'deny';
    const ietf = config['ratelimit-headers'] && config.calls !== undefined;
    const policyField =
      `"quota-by-key";q=${config.calls}` + (limits.periodMs > 0 ? `;w=${Math.round(config['renewal-period'])}` : '');
    const trackBytes = limits.bytes !== undefined;
    const needsDone = trackBytes || counts !== undefined;
    const fallbacks = storeFallbacks(ctx);

    const decide = (ex: Exchange, key: string, d: QuotaDecision | null) => {
      if (d === null) {
        fallbacks.inc({ policy: 'quota-by-key', action: denyOnError ? 'deny' : 'allow' });
        if (!denyOnError) return undefined;
        return problem('rate-limit-store-unavailable', 'The quota cannot be checked right now. Try again shortly.', {
          headers: { [retryHeader]: '1' },
        });
      }
      if (!d.allowed) {
        const headers: Headers = {};
        const bytesOver = limits.bytes !== undefined && d.bytes >= limits.bytes;
        let detail = bytesOver ? 'Bandwidth quota is exceeded.' : 'Call quota is exceeded.';
        if (d.resetMs === Infinity) detail += ' This quota does not renew.';
        else {
          headers[retryHeader] = String(seconds(d.resetMs));
          detail += ` Quota will be replenished in ${seconds(d.resetMs)} seconds.`;
        }
        if (ietf) {
          headers['ratelimit-policy'] = policyField;
          if (d.resetMs !== Infinity) headers['ratelimit'] = `"quota-by-key";r=${Math.max(0, config.calls! - d.calls)};t=${seconds(d.resetMs)}`;
        }
        return problem('quota-exceeded', detail, { headers });
      }
      if (ietf) {
        ex.addResponseHeader('RateLimit-Policy', policyField);
        if (d.resetMs !== Infinity) ex.addResponseHeader('RateLimit', `"quota-by-key";r=${Math.max(0, config.calls! - d.calls)};t=${seconds(d.resetMs)}`);
      }
      if (needsDone) {
        const period = d.period;
        ex.onDone((done) => {
          const counted = counts === undefined || counts(done.status);
          const bytes = counted && trackBytes ? done.bytesIn + done.bytesOut : 0;
          const calls = counted ? 0 : -1;
          if (bytes !== 0 || calls !== 0) void store.quotaAdd(key, limits, period, calls, bytes);
        });
      }
      return undefined;
    };

    return (ex) => {
      const key = keyOf(keyT.render(ex));
      const d = store.quotaHit(key, limits, 1);
      if (d instanceof Promise) return d.then((r) => decide(ex, key, r));
      return decide(ex, key, d);
    };
  },
});
