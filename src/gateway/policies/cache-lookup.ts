import { z } from 'zod';
import { definePolicy } from '../policy.js';
import type { Exchange } from '../exchange.js';
import { ConfigError } from '../../config/errors.js';
import { duration } from '../../config/units.js';
import { HttpCache } from '../../upstream/http-cache.js';
import { Coalescer } from '../../upstream/coalescer.js';
import { freshFor } from '../../upstream/cache-semantics.js';
import { notModified } from '../../upstream/cache-validate.js';
import { HeaderName, keyTemplate } from './kit/fields.js';
import { answerFrom, compileCacheKey, compileDownstream, flightFits, leaveTurn, type CacheTurn, type Flight } from './kit/cache.js';

export const CacheLookupConfig = z.strictObject({
  'vary-by-header': z.array(HeaderName).default([])
    .describe('request headers whose values are part of the cache key (`Accept`, `Accept-Language`, ...), besides the fields the response names in `Vary`'),
  'vary-by-query-parameter': z.array(z.string().min(1)).optional()
    .describe('only these query parameters are part of the cache key (default: every parameter, in any order). Parameters not listed do not make another entry, so list every one the backend reads'),
  'downstream-caching-type': z.enum(['none', 'private', 'public']).optional()
    .describe('the Cache-Control sent to clients with cached responses: `none` (`no-store`), `private` or `public` with the `max-age` left (a response stored per caller is never made `public`). Default: the backend\'s Cache-Control, unchanged'),
  'must-revalidate': z.boolean().default(true).describe('add `must-revalidate` to the Cache-Control of `downstream-caching-type` private or public'),
  'allow-private-response-caching': z.boolean().default(false)
    .describe('cache responses to requests with Authorization, per caller: the cache key then includes the caller (`vary-by-caller`, default the Authorization value), and `private` responses to them are stored too. Without it such requests always go to the backend'),
  'vary-by-caller': keyTemplate('with `allow-private-response-caching`: the template that names the caller in the cache key, e.g. `{jwt.sub}`. A request for which it renders nothing is not cached').optional(),
  'caching-type': z.enum(['prefer-external', 'external', 'internal']).default('prefer-external')
    .describe('the store: `internal` (memory, per gateway process), `external` (the shared `gateway.cache.external`), `prefer-external` (external when configured, else internal)'),
  'coalesce-misses': z.boolean().default(true)
    .describe('concurrent misses for one key make one backend call; the others wait for its response (only a storable response is shared: the others then go to the backend themselves)'),
  'coalesce-timeout': duration({ min: 0.001, max: 300 }).default(30)
    .describe('the longest a request waits for another\'s backend call before it makes its own'),
});

type Config = z.output<typeof CacheLookupConfig>;

const MAX_WAITERS = 1000;

export const cacheLookup = definePolicy({
  name: 'cache-lookup',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline' },
  description:
    'Answers GET and HEAD requests from the response cache (RFC 9111: freshness, Age, Vary, conditional requests answered ' +
    'with 304) and leaves misses to the backend, where `cache-store` in outbound stores the response. Stale entries are ' +
    'revalidated with the backend (If-None-Match / If-Modified-Since); concurrent misses for one key make one backend call. ' +
    'Requests with Authorization are never answered from the cache unless `allow-private-response-caching` is set, and ' +
    'then only with responses to the same caller.',
  example: `cache-lookup:
  vary-by-header: [Accept]
  vary-by-query-parameter: [page, size]
  downstream-caching-type: private`,
  schema: CacheLookupConfig,
  create(config: Config, ctx) {
    if (config['vary-by-caller'] !== undefined && !config['allow-private-response-caching']) {
      throw new ConfigError('vary-by-caller is only used with allow-private-response-caching: true', ['vary-by-caller']);
    }
    const store = ctx.cacheStore(config['caching-type']);
    const cache = new HttpCache(store, { perCaller: config['allow-private-response-caching'] });
    const keyOf = compileCacheKey(config, ctx);
    const downstream = compileDownstream(config['downstream-caching-type'], config['must-revalidate']);
    const coalescer = config['coalesce-misses']
      ? new Coalescer<Flight | undefined>({ maxWaiters: MAX_WAITERS, waitTimeoutMs: config['coalesce-timeout'] * 1000, shareable: (f) => f !== undefined })
      : undefined;
    const lookups = ctx.metrics.counter('gatehouse_cache_lookups_total', 'Response-cache lookups by API and result (hit, miss, stale, coalesced, bypass)', ['api', 'result']);
    const api = ctx.api?.name ?? '';
    const waiting = ctx.metrics.gauge('gatehouse_cache_coalesced_waiting', "Requests waiting for another request's backend call for the same cache key, by API", ['api']).labels(api);
    const count = { hit: lookups.labels(api, 'hit'), miss: lookups.labels(api, 'miss'), stale: lookups.labels(api, 'stale'), coalesced: lookups.labels(api, 'coalesced'), bypass: lookups.labels(api, 'bypass') };

    /** Wait for the request that leads this key's miss; its response when it fits this request. */
    async function follow(ex: Exchange, flight: Promise<unknown>) {
      waiting.inc();
      const r = (await flight.catch(() => undefined)) as { kind: string; value?: Flight } | undefined;
      waiting.dec();
      if (r?.kind !== 'value' || r.value === undefined || !flightFits(r.value, ex.req.headers)) return undefined;
      const value = r.value.value;
      const { ageSec } = freshFor(value.meta, {}, Date.now());
      count.coalesced.inc();
      return answerFrom(ex, value, ageSec, notModified({ method: ex.method, headers: ex.req.headers }, value.meta.headers), downstream, 'cache-coalesced');
    }

    return async (ex) => {
      // a GET with a body is not a plain read (the body could change the answer): never cached
      const key = (ex.method === 'GET' || ex.method === 'HEAD') && ex.body === undefined ? keyOf(ex) : undefined;
      if (key === undefined) { count.bypass.inc(); return undefined; }
      const l = await cache.lookup(key, { method: ex.method, headers: ex.req.headers });
      if (l.kind === 'hit') {
        count.hit.inc();
        return answerFrom(ex, l.value, l.ageSec, l.notModified, downstream, 'cache-hit');
      }
      if (l.kind === 'bypass') { count.bypass.inc(); return undefined; }
      const turn: CacheTurn = { cache, primaryKey: key, requestTime: Date.now(), downstream, stale: l.kind === 'stale' ? { key: l.key, value: l.value } : undefined, settle: undefined, saving: false };
      if (coalescer !== undefined && ex.method === 'GET') {
        let leader = false;
        const flight = coalescer.run(key, () => {
          leader = true;
          return new Promise<Flight | undefined>((resolve) => { turn.settle = resolve; });
        }, ex.signal);
        if (leader) {
          flight.catch(() => {});
          // whatever happens to this request (no cache-store, an error, the client gone), the waiters
          // go on; a response being stored settles them itself (storing may end after the response)
          ex.onDone(() => { if (!turn.saving) turn.settle?.(undefined); });
        } else {
          const answer = await follow(ex, flight);
          if (answer !== undefined) return answer;
        }
      }
      if (l.kind === 'stale') {
        count.stale.inc();
        const up = ex.upstreamHeaders;
        delete up['if-none-match'];
        delete up['if-modified-since'];
        Object.assign(up, l.conditional);
      } else count.miss.inc();
      leaveTurn(ex, turn);
      return undefined;
    };
  },
});
