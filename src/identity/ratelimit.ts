import { createHash } from 'node:crypto';
import type { Db } from './db.js';

/**
 * Fixed-window counters in the identity database, so that every process sharing it counts
 * together. `hit` adds one to the key's window and says whether the limit is now exceeded.
 * Keys are hashed: no addresses are stored in the clear.
 */
export class RateLimiter {
  constructor(private readonly db: Db) {}

  async hit(key: string, limit: number, windowSeconds: number): Promise<{ limited: boolean; count: number }> {
    const now = Date.now();
    const row = await this.db.one<{ count: number }>(
      `INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END,
         window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END
       RETURNING count`,
      [createHash('sha256').update(key).digest('base64url'), now, now - windowSeconds * 1000]);
    const count = Number(row?.count ?? 1);
    return { limited: count > limit, count };
  }
}
