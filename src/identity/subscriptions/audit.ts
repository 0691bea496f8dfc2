import type { Db } from '../db.js';

/**
 * The audit log of management writes: who did what to which object, when, and the object before
 * and after. Append-only (the database refuses UPDATE and DELETE on the table); paged by `seq`.
 */

export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
}

interface Raw { seq: number; at: number; actor: string; action: string; target_type: string; target_id: string; before_: string | null; after_: string | null }

export class AuditLog {
  constructor(private readonly db: Db) {}

  async append(e: Omit<AuditEntry, 'seq' | 'at'>): Promise<void> {
    await this.db.run(
      'INSERT INTO audit_log (at, actor, action, target_type, target_id, before_, after_) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [Date.now(), e.actor, e.action, e.target.type, e.target.id, e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after)],
    );
  }

  /** Entries after `after` (a seq), oldest first, at most `limit`. */
  async page(after: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.db.all<Raw>('SELECT seq, at, actor, action, target_type, target_id, before_, after_ FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit]);
    return rows.map((r) => ({
      seq: Number(r.seq), at: Number(r.at), actor: r.actor, action: r.action,
      target: { type: r.target_type, id: r.target_id },
      before: r.before_ === null ? null : JSON.parse(r.before_) as unknown,
      after: r.after_ === null ? null : JSON.parse(r.after_) as unknown,
    }));
  }
}
