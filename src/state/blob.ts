import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import { createRedisBlobStore } from './redis-blob.js';
import { parseStoreUrl, redact } from './url.js';

/**
 * Blob stores: opaque values (Buffers) under string keys, each with a time to live, for the
 * response cache. Like the counter stores, a blob store never throws and never rejects: a value
 * it cannot read is a miss (undefined), a value it cannot write is not kept, and every failure is
 * counted (`gatehouse_cache_store_errors_total`) and logged at most once every 10 s.
 */
export interface BlobStore {
  readonly kind: string;
  get(key: string): Promise<Buffer | undefined>;
  /** keep `value` under `key` for `ttlMs`; values larger than the store's bound are not kept */
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The URL forms of a shared (remote) cache. */
export const BLOB_STORE_USAGE = 'redis://host:port[/db] or rediss://host:port';

/**
 * A remote blob store by URL (the counter stores' conventions: `redis://[user:pass@]host:port[/db]`
 * and `rediss://`, with `prefix` and `timeout` parameters). Throws an Error fit for a config
 * error when the URL is not usable.
 */
export function createBlobStore(url: string, opts: { logger: Logger; metrics: Metrics; maxValueBytes: number }): BlobStore {
  const parsed = parseStoreUrl(url);
  if (parsed.scheme === 'redis' || parsed.scheme === 'rediss') return createRedisBlobStore(parsed, opts);
  throw new Error(`cache store "${redact(url)}" is not supported; use ${BLOB_STORE_USAGE}`);
}
