import { fail } from './exceptions.js';
import { formatDateTime, formatTimeSpan } from './datetime-format.js';

/**
 * DateTime, DateTimeOffset and TimeSpan values. Times keep millisecond precision plus the
 * sub-millisecond ticks; the gateway's local time zone is UTC, so Local and Utc times agree.
 */
export const TICKS_PER_MS = 10_000;
const EPOCH_MS = 62_135_596_800_000; // 0001-01-01 → 1970-01-01
const MIN_MS = -EPOCH_MS;
const MAX_MS = 253_402_300_799_999;

export const enum Kind { Unspecified = 0, Utc = 1, Local = 2 }

export class CsDateTime {
  readonly csType = 'System.DateTime';
  /** `ms`: milliseconds of the wall-clock time since 1970-01-01 (as if UTC); `sub`: 0..9999 ticks. */
  constructor(readonly ms: number, readonly kind: Kind = Kind.Unspecified, readonly sub = 0) {
    if (!(ms >= MIN_MS && ms <= MAX_MS)) fail('ArgumentOutOfRangeException', 'The added or subtracted value results in an un-representable DateTime.');
  }
  static fromParts(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0, kind: Kind = Kind.Unspecified): CsDateTime {
    if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59 || y < 1 || y > 9999) {
      fail('ArgumentOutOfRangeException', 'Year, Month, and Day parameters describe an un-representable DateTime.');
    }
    const t = Date.UTC(2000, mo - 1, d, h, mi, s, ms);
    const dt = new Date(t);
    dt.setUTCFullYear(y);
    return new CsDateTime(dt.getTime(), kind);
  }
  get ticks(): bigint { return (BigInt(Math.round(this.ms)) + BigInt(EPOCH_MS)) * 10000n + BigInt(this.sub); }
  private get d(): Date { return new Date(this.ms); }
  get year(): number { return this.d.getUTCFullYear(); }
  get month(): number { return this.d.getUTCMonth() + 1; }
  get day(): number { return this.d.getUTCDate(); }
  get hour(): number { return this.d.getUTCHours(); }
  get minute(): number { return this.d.getUTCMinutes(); }
  get second(): number { return this.d.getUTCSeconds(); }
  get millisecond(): number { return this.d.getUTCMilliseconds(); }
  get dayOfWeek(): number { return this.d.getUTCDay(); }
  get dayOfYear(): number {
    const start = new Date(0);
    start.setUTCFullYear(this.year, 0, 1);
    return Math.floor((this.ms - start.getTime()) / 86_400_000) + 1;
  }
  get date(): CsDateTime { return new CsDateTime(this.ms - mod(this.ms, 86_400_000), this.kind); }
  get timeOfDay(): CsTimeSpan { return new CsTimeSpan(mod(this.ms, 86_400_000) * TICKS_PER_MS + this.sub); }
  addTicks(t: number): CsDateTime {
    const total = this.sub + t;
    const ms = Math.floor(total / TICKS_PER_MS);
    return new CsDateTime(this.ms + ms, this.kind, total - ms * TICKS_PER_MS);
  }
  addMonths(n: number): CsDateTime {
    const y = this.year, m = this.month - 1 + n;
    const ny = y + Math.floor(m / 12), nm = mod(m, 12) + 1;
    const day = Math.min(this.day, daysInMonth(ny, nm));
    const base = CsDateTime.fromParts(ny, nm, day, 0, 0, 0, 0, this.kind);
    return new CsDateTime(base.ms + mod(this.ms, 86_400_000), this.kind, this.sub);
  }
  withKind(kind: Kind): CsDateTime { return new CsDateTime(this.ms, kind, this.sub); }
  /** Total ticks as a double, for differences. */
  get fineMs(): number { return this.ms + this.sub / TICKS_PER_MS; }
  csString(): string { return formatDateTime(this, 'G', 0); }
  csFormat(f: string): string { return formatDateTime(this, f, 0); }
  csEquals(o: unknown): boolean { return o instanceof CsDateTime && o.ms === this.ms && o.sub === this.sub; }
  csCompare(o: unknown): number { const x = o as CsDateTime; return this.fineMs < x.fineMs ? -1 : this.fineMs > x.fineMs ? 1 : 0; }
  csKey(): unknown { return `dt:${this.ms}:${this.sub}`; }
}

export class CsDateTimeOffset {
  readonly csType = 'System.DateTimeOffset';
  /** `utc`: the instant; `offset`: minutes east of UTC. */
  constructor(readonly utc: CsDateTime, readonly offset: number) {}
  get local(): CsDateTime { return new CsDateTime(this.utc.ms + this.offset * 60_000, Kind.Unspecified, this.utc.sub); }
  csString(): string { return formatDateTime(this.local, 'G', this.offset, true) + ' ' + offsetText(this.offset); }
  csFormat(f: string): string { return formatDateTime(this.local, f, this.offset, true); }
  csEquals(o: unknown): boolean { return o instanceof CsDateTimeOffset && this.utc.csEquals(o.utc); }
  csCompare(o: unknown): number { return this.utc.csCompare((o as CsDateTimeOffset).utc); }
  csKey(): unknown { return this.utc.csKey(); }
}

export class CsTimeSpan {
  readonly csType = 'System.TimeSpan';
  constructor(readonly ticks: number) {
    if (!Number.isFinite(ticks) || Math.abs(ticks) > 9.2233720368547758e18) fail('OverflowException', 'TimeSpan overflowed because the duration is too long.');
  }
  get totalMs(): number { return this.ticks / TICKS_PER_MS; }
  csString(): string { return formatTimeSpan(this, 'c'); }
  csFormat(f: string): string { return formatTimeSpan(this, f); }
  csEquals(o: unknown): boolean { return o instanceof CsTimeSpan && o.ticks === this.ticks; }
  csCompare(o: unknown): number { const x = (o as CsTimeSpan).ticks; return this.ticks < x ? -1 : this.ticks > x ? 1 : 0; }
  csKey(): unknown { return `ts:${this.ticks}`; }
}

export const mod = (a: number, b: number) => ((a % b) + b) % b;
export function daysInMonth(y: number, m: number): number {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
}
export const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
export function offsetText(min: number): string {
  const a = Math.abs(min);
  return `${min < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

export function now(): CsDateTime {
  return new CsDateTime(Date.now(), Kind.Utc);
}

export function diff(a: CsDateTime, b: CsDateTime): CsTimeSpan {
  return new CsTimeSpan(Math.round((a.fineMs - b.fineMs) * TICKS_PER_MS));
}
