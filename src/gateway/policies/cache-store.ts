import { Transform, type Readable } from 'node:stream';
import { z } from 'zod';
import { definePolicy } from '../policy.js';
import type { Exchange, UpstreamResponse } from '../exchange.js';
import type { Reply } from '../reply.js';
import { problem } from '../problems.js';
import { discard } from '../respond.js';
import { duration } from '../../config/units.js';
import { ConfigError } from '../../config/errors.js';
import { HttpCache } from '../../upstream/http-cache.js';
import { initialAge, storability } from '../../upstream/cache-semantics.js';
import { notModified } from '../../upstream/cache-validate.js';
import { answerFrom, flightOf, takeTurn, type CacheTurn } from './kit/cache.js';

export const CacheStoreConfig = z.strictObject({
  duration: duration({ min: 1, max: 365 * 86400 }).optional()
    .describe('lifetime of a response that states none (no max-age, s-maxage or Expires), in seconds. Default: 10 % of its age since Last-Modified; without that and without a validator it is not stored'),
  'max-duration': duration({ min: 1, max: 365 * 86400 }).optional()
    .describe('no response is kept fresh longer than this, whatever its Cache-Control says'),
});

type Config = z.output<typeof CacheStoreConfig>;

export const cacheStore = definePolicy({
  name: 'cache-store',
  sections: ['outbound'],
  capabilities: { phase: 'pipeline' },
  description:
    'Stores the backend\'s response for the `cache-lookup` of the same request, when RFC 9111 allows it (GET; a cacheable ' +
    'status; no `no-store`; no `private` unless stored per caller; no Set-Cookie; a lifetime or a validator). The body is ' +
    'streamed to the client as it arrives and kept beside; a body larger than `gateway.cache.max-entry-size`, or one the ' +
    'client stopped reading, is not stored. A backend 304 to a revalidation refreshes the stored entry and answers from it. ' +
    'Place it last in outbound: later outbound policies change the response to the client only, not the stored one.',
  example: `cache-store:
  duration: 60`,
  schema: CacheStoreConfig,
  create(config: Config, ctx) {
    if (config.duration !== undefined && config['max-duration'] !== undefined && config['max-duration'] < config.duration) {
      throw new ConfigError('max-duration is shorter than duration', ['max-duration']);
    }
    const maxEntry = ctx.maxCacheEntry;
    const lifetimes = { defaultTtlSec: config.duration, maxTtlSec: config['max-duration'] };
    // the lookup's cache with this policy's lifetimes, made once per cache-lookup it follows
    const mine = new WeakMap<HttpCache, HttpCache>();
    const own = (c: HttpCache): HttpCache => {
      let o = mine.get(c);
      if (o === undefined) mine.set(c, (o = new HttpCache(c.store, { ...c.opts, ...lifetimes })));
      return o;
    };
    const stores = ctx.metrics.counter('gatehouse_cache_stores_total', 'Responses offered to the response cache by API and result (stored, not-storable, too-large, incomplete, revalidated, failed)', ['api', 'result']);
    const api = ctx.api?.name ?? '';
    const count = {
      stored: stores.labels(api, 'stored'), notStorable: stores.labels(api, 'not-storable'), tooLarge: stores.labels(api, 'too-large'),
      incomplete: stores.labels(api, 'incomplete'), revalidated: stores.labels(api, 'revalidated'), failed: stores.labels(api, 'failed'),
    };

    async function revalidate(ex: Exchange, turn: CacheTurn, cache: HttpCache, res: UpstreamResponse): Promise<Reply> {
      discard(res.body);
      const stale = turn.stale!;
      const fresh = await cache.revalidated(stale.key, stale.value, res, { requestTime: turn.requestTime, responseTime: Date.now() });
      if (fresh === undefined) {
        turn.settle?.(undefined);
        await cache.store.delete(stale.key);
        count.failed.inc();
        return problem('cache-revalidation-mismatch', 'The backend answered for another version of the response; retry.');
      }
      count.revalidated.inc();
      turn.settle?.(flightOf(fresh, ex.req.headers));
      const answer = notModified({ method: ex.method, headers: ex.req.headers }, fresh.meta.headers);
      return answerFrom(ex, fresh, Math.floor(fresh.meta.initialAgeSec), answer, turn.downstream, 'cache-revalidated');
    }

    return (ex) => {
      const turn = takeTurn(ex);
      const res = ex.response;
      if (turn === undefined || res === undefined) return undefined;
      const cache = own(turn.cache);
      if (turn.stale !== undefined && res.status === 304) return revalidate(ex, turn, cache, res);
      const req = { method: ex.method, headers: ex.req.headers };
      const s = storability(req, res, cache.opts);
      const cl = res.headers['content-length'];
      if (!s.ok || (typeof cl === 'string' && Number(cl) > maxEntry)) {
        (s.ok ? count.tooLarge : count.notStorable).inc();
        turn.settle?.(undefined);
        return undefined;
      }
      const times = { requestTime: turn.requestTime, responseTime: Date.now() };
      // what is stored: the response as it is here (the client's copy may still change)
      const snapshot = { status: res.status, headers: { ...res.headers } };
      // an encoded body is one representation among several: keep it apart from the others
      // even when the backend forgot to say so
      const ce = snapshot.headers['content-encoding'];
      if (ce !== undefined && ce !== 'identity' && !/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(String(snapshot.headers.vary ?? ''))) {
        snapshot.headers.vary = snapshot.headers.vary === undefined ? 'Accept-Encoding' : `${String(snapshot.headers.vary)}, Accept-Encoding`;
      }
      if (turn.downstream !== undefined) {
        res.headers['cache-control'] = turn.downstream(s.lifetimeSec, initialAge(res.headers, times.requestTime, times.responseTime), res.headers['cache-control'], ex.req.headers.authorization !== undefined);
      }
      const save = (body: Buffer) => {
        turn.saving = true;
        cache.save(turn.primaryKey, req, { ...snapshot, body }, times).then((r) => {
          (r.stored ? count.stored : count.notStorable).inc();
          turn.settle?.(r.stored ? flightOf(r.value, ex.req.headers) : undefined);
        }, () => {
          count.failed.inc();
          turn.settle?.(undefined);
        });
      };
      const body = res.body;
      if (body === null) save(Buffer.alloc(0));
      else if (typeof body === 'string' || Buffer.isBuffer(body)) save(Buffer.from(body));
      // an outbound policy never sees a DirectResponse (stages.ts: direct only without outbound policies)
      else res.body = keepWhileStreaming(body as Readable, maxEntry, save, (why) => { count[why].inc(); turn.settle?.(undefined); });
      return undefined;
    };
  },
});

/**
 * The body as it streams to the client, kept beside up to `max` bytes: `done` gets the whole body
 * once the backend has sent all of it; `gaveUp` is told when it grew too large or never ended
 * (the backend failed, the client went away). Destroying the result destroys the source.
 */
function keepWhileStreaming(src: Readable, max: number, done: (body: Buffer) => void, gaveUp: (why: 'tooLarge' | 'incomplete') => void): Readable {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  let ended = false;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!over) {
        size += chunk.length;
        if (size > max) {
          over = true;
          chunks.length = 0;
          gaveUp('tooLarge');
        } else chunks.push(chunk);
      }
      cb(null, chunk);
    },
    flush(cb) {
      ended = true;
      if (!over) done(Buffer.concat(chunks, size));
      cb();
    },
  });
  // an error before the response is sent must not go unhandled; the sender listens too
  out.on('error', () => {});
  src.on('error', (err) => out.destroy(err));
  out.once('close', () => {
    if (!ended && !over) gaveUp('incomplete');
    if (!src.readableEnded) src.destroy();
  });
  src.pipe(out);
  return out;
}
