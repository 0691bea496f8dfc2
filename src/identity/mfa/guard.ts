import type { Logger } from 'pino';
import type { Db } from '../db.js';
import type { IdentityConfig } from '../schema.js';
import type { Limits } from '../ratelimit.js';

export type CodeOutcome = { ok: true } | { ok: false; reason: 'wrong' | 'locked' | 'rate-limited'; retryAfter?: number };

/**
 * Attempts at second-factor codes are limited like passwords: wrong codes per client address and
 * network (`rate-limits.mfa`, on the counter store), and a lockout of the account's second factor
 * after `lockout.threshold` wrong codes, for `lockout.duration` doubling up to `max-duration`.
 *
 * The lockout counts per account, not per client address as the password's does: whoever types
 * codes has the password already, and a six-digit code must not get a fresh allowance from every
 * address. A slot is reserved in the database before the code is checked, so attempts in
 * parallel cannot exceed the threshold. `gatehouse users unlock` lifts it (the row carries the
 * account).
 */
export class CodeGuard {
  constructor(private readonly db: Db, private readonly cfg: IdentityConfig, private readonly limits: Limits, private readonly logger: Logger) {}

  async attempt(userId: string, ip: string, check: () => Promise<boolean>): Promise<CodeOutcome> {
    const gate = await this.limits.client('mfa', ip, this.cfg['rate-limits'].mfa);
    if (!gate.allowed) return { ok: false, reason: 'rate-limited', retryAfter: gate.retryAfter };
    const key = `mfa:user:${userId}`;
    const now = Date.now();
    await this.db.run('INSERT INTO lockouts (key, user_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING', [key, userId, now]);
    const threshold = this.cfg.lockout.threshold;
    const slot = await this.db.one<{ failures: number; lockouts: number; locked_until: number }>(
      'UPDATE lockouts SET failures = failures + 1, updated_at = $3 WHERE key = $1 AND locked_until <= $2 RETURNING failures, lockouts, locked_until',
      [key, now, now]);
    if (!slot || Number(slot.failures) > threshold) {
      if (slot) await this.db.run('UPDATE lockouts SET failures = failures - 1 WHERE key = $1 AND failures > 0', [key]);
      this.logger.info({ audit: 'mfa.failure', reason: 'locked', sub: userId, ip }, 'second factor refused: locked');
      return { ok: false, reason: 'locked' };
    }
    if (await check()) {
      await this.db.run('UPDATE lockouts SET failures = 0, lockouts = 0, updated_at = $2 WHERE key = $1', [key, Date.now()]);
      await gate.refund();
      return { ok: true };
    }
    this.logger.info({ audit: 'mfa.failure', reason: 'wrong-code', sub: userId, ip }, 'second factor refused: wrong code');
    if (Number(slot.failures) >= threshold) {
      const secs = Math.min(this.cfg.lockout['max-duration'], this.cfg.lockout.duration * 2 ** Math.min(Number(slot.lockouts), 30));
      const until = Date.now() + secs * 1000;
      const n = await this.db.run('UPDATE lockouts SET locked_until = $2, lockouts = lockouts + 1, failures = 0, updated_at = $3 WHERE key = $1 AND locked_until <= $3', [key, until, Date.now()]);
      if (n > 0) this.logger.warn({ audit: 'mfa.locked', sub: userId, until, ip }, 'second factor locked');
    }
    return { ok: false, reason: 'wrong' };
  }
}
