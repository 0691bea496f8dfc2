import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { CounterStore } from '../state/types.js';

/** a limit per client address and per client network (IPv4 /24, IPv6 /64) in a sliding window */
export interface ClientLimit { 'per-ip': number; 'per-subnet': number; window: number }

export type Admission = { allowed: true; refund(): Promise<void> } | { allowed: false; retryAfter: number; limit: 'per-ip' | 'per-subnet' | 'per-address' };

/**
 * The network a client address belongs to for rate limiting: its /24 for IPv4, its /64 for IPv6
 * (one customer gets a whole /64, so limits per IPv6 address alone would not hold).
 */
export function subnetOf(ip: string): string {
  if (isIP(ip) === 4) return ip.split('.').slice(0, 3).join('.') + '.0/24';
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  if (t.length && t[t.length - 1]!.includes('.')) t.splice(-1, 1, '0', '0'); // an embedded IPv4 tail is two groups
  const groups = ip.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}

/**
 * Anti-automation limits of the identity provider on a counter store of `src/state` (memory by
 * default; Redis, set by `rate-limits.store`, when several processes serve one issuer). Each
 * limit is a sliding window; keys are hashed, so no address is stored in the clear.
 *
 * When the store cannot answer (Redis down) the request is let through and a warning logged:
 * lockout, which lives in the database, still holds.
 */
export class Limits {
  #warned = 0;
  constructor(private readonly store: CounterStore, private readonly logger: Logger) {}

  /** Admit one `action` from `ip` under its per-IP and per-subnet limits. */
  async client(action: string, ip: string, rule: ClientLimit): Promise<Admission> {
    const ipKey = `${action}:ip:${ip}`;
    const byIp = await this.#hit(ipKey, rule['per-ip'], rule.window);
    if (!byIp.allowed) return { allowed: false, retryAfter: byIp.retryAfter, limit: 'per-ip' };
    const netKey = `${action}:net:${subnetOf(ip)}`;
    const byNet = await this.#hit(netKey, rule['per-subnet'], rule.window);
    if (!byNet.allowed) {
      await byIp.refund();
      return { allowed: false, retryAfter: byNet.retryAfter, limit: 'per-subnet' };
    }
    return { allowed: true, refund: async () => { await byIp.refund(); await byNet.refund(); } };
  }

  /** Admit one `action` for `address` (an email address) under `limit` per `window` seconds. */
  async address(action: string, address: string, limit: number, window: number): Promise<Admission> {
    const r = await this.#hit(`${action}:address:${address}`, limit, window);
    return r.allowed ? r : { allowed: false, retryAfter: r.retryAfter, limit: 'per-address' };
  }

  close(): Promise<void> { return this.store.close(); }

  async #hit(key: string, limit: number, windowS: number): Promise<{ allowed: true; refund(): Promise<void> } | { allowed: false; retryAfter: number }> {
    const k = 'idp:' + createHash('sha256').update(key).digest('base64url').slice(0, 32);
    const periodMs = windowS * 1000;
    const d = await this.store.slidingHit(k, limit, periodMs, 1);
    if (d === null) {
      if (Date.now() - this.#warned > 10_000) {
        this.#warned = Date.now();
        this.logger.warn({ store: this.store.kind }, 'rate-limit store unavailable: identity requests are not rate-limited meanwhile');
      }
      return { allowed: true, refund: async () => {} };
    }
    if (!d.allowed) return { allowed: false, retryAfter: Math.max(1, Math.ceil(Math.min(d.waitMs, periodMs) / 1000)) };
    return { allowed: true, refund: async () => { await this.store.slidingRefund(k, periodMs, d.token); } };
  }
}
