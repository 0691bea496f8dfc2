import { CsDateTime, Kind } from './datetime.js';
import { DAYS, expandStandard, MONTHS, tokenize } from './datetime-format.js';
import { formatError } from './exceptions.js';

/**
 * DateTime.Parse / ParseExact for the invariant culture: ISO 8601 (with or without a zone),
 * RFC 1123, `MM/dd/yyyy[ HH:mm[:ss]][ AM|PM]`, `yyyy/MM/dd`, `d MMMM yyyy` and `MMMM d, yyyy`.
 * A time with a zone becomes local time (the gateway's local zone is UTC), as .NET does.
 */
export interface Parsed { dt: CsDateTime; offset?: number }

const AdjustToUniversal = 16, AssumeUniversal = 64, RoundtripKind = 128;
const MONTH_INDEX = (name: string): number => {
  const k = name.toLowerCase();
  return MONTHS.findIndex((m) => m.toLowerCase() === k || m.slice(0, 3).toLowerCase() === k) + 1;
};

const ISO = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,7}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/i;
const US = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?\s*(AM|PM)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$/i;
const YMD = /^\s*(\d{4})\/(\d{1,2})\/(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/;
const RFC = /^\s*(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3,9})\s+(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(GMT|UTC|Z|[+-]\d{2}:?\d{2})?\s*$/i;
const MDY = /^\s*(?:[A-Za-z]+,?\s+)?([A-Za-z]{3,9})\s+(\d{1,2}),?\s+(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$/;

function zoneMinutes(z: string | undefined): number | undefined {
  if (!z) return undefined;
  const u = z.toUpperCase();
  if (u === 'Z' || u === 'GMT' || u === 'UTC') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(z);
  if (!m) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

function build(y: number, mo: number, d: number, h: number, mi: number, s: number, frac: string | undefined, zone: number | undefined, styles: number): Parsed {
  const ticks = frac ? Number(frac.padEnd(7, '0')) : 0;
  const base = CsDateTime.fromParts(y, mo, d, h, mi, s, 0);
  let dt = new CsDateTime(base.ms + Math.floor(ticks / 10000), Kind.Unspecified, ticks % 10000);
  if (zone !== undefined) {
    dt = new CsDateTime(dt.ms - zone * 60_000, styles & (AdjustToUniversal | RoundtripKind) ? Kind.Utc : Kind.Local, dt.sub);
    if (styles & RoundtripKind && zone !== 0) dt = dt.withKind(Kind.Local);
  } else if (styles & AssumeUniversal) dt = dt.withKind(styles & AdjustToUniversal ? Kind.Utc : Kind.Local);
  return { dt, offset: zone };
}

export function parseDateTime(s: string | null, styles = 0): Parsed | undefined {
  if (s === null) return undefined;
  try {
    let m = ISO.exec(s);
    if (m) return build(+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), m[7], zoneMinutes(m[8]), styles);
    if ((m = US.exec(s))) {
      let h = +(m[4] ?? 0);
      if (m[8]) { if (h > 12 || h === 0) return undefined; h = (h % 12) + (m[8].toUpperCase() === 'PM' ? 12 : 0); }
      return build(+m[3]!, +m[1]!, +m[2]!, h, +(m[5] ?? 0), +(m[6] ?? 0), m[7], zoneMinutes(m[9]), styles);
    }
    if ((m = YMD.exec(s))) return build(+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), undefined, undefined, styles);
    if ((m = RFC.exec(s))) {
      const mo = MONTH_INDEX(m[2]!);
      if (!mo) return undefined;
      return build(+m[3]!, mo, +m[1]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), undefined, zoneMinutes(m[7]), styles);
    }
    if ((m = MDY.exec(s))) {
      const mo = MONTH_INDEX(m[1]!);
      if (!mo) return undefined;
      return build(+m[3]!, mo, +m[2]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), undefined, undefined, styles);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A regular expression for a custom format, with named parts. */
function exactPattern(format: string): RegExp {
  let re = '';
  for (const t of tokenize(expandStandard(format))) {
    if (t[0] === "'") { re += esc(t.slice(1)); continue; }
    const n = t.length;
    switch (t[0]) {
      case 'y': re += n <= 2 ? `(?<y2>\\d{${n === 1 ? '1,2' : '2'}})` : `(?<y>\\d{${n}})`; break;
      case 'M': re += n >= 3 ? `(?<mn>[A-Za-z]{${n === 3 ? 3 : '3,9'}})` : `(?<M>\\d{${n === 1 ? '1,2' : '2'}})`; break;
      case 'd': re += n >= 3 ? `(?:${(n === 3 ? DAYS.map((d) => d.slice(0, 3)) : DAYS).join('|')})` : `(?<d>\\d{${n === 1 ? '1,2' : '2'}})`; break;
      case 'H': re += `(?<H>\\d{${n === 1 ? '1,2' : '2'}})`; break;
      case 'h': re += `(?<h>\\d{${n === 1 ? '1,2' : '2'}})`; break;
      case 'm': re += `(?<m>\\d{${n === 1 ? '1,2' : '2'}})`; break;
      case 's': re += `(?<s>\\d{${n === 1 ? '1,2' : '2'}})`; break;
      case 'f': re += `(?<f>\\d{${n}})`; break;
      case 'F': re += `(?<f>\\d{0,${n}})`; break;
      case 't': re += `(?<t>[AaPp][Mm]?)`; break;
      case 'z': re += n >= 3 ? '(?<z>[+-]\\d{2}:\\d{2})' : '(?<z>[+-]\\d{1,2})'; break;
      case 'K': re += '(?<z>Z|[+-]\\d{2}:\\d{2})?'; break;
      default: re += esc(t);
    }
  }
  return new RegExp(`^${re}$`);
}

export function parseExact(s: string | null, formats: string[], styles = 0): Parsed | undefined {
  if (s === null) return undefined;
  for (const f of formats) {
    const m = exactPattern(f).exec(s);
    if (!m) continue;
    const g = m.groups ?? {};
    const y = g.y ? +g.y : g.y2 ? 2000 + +g.y2 - (+g.y2 > 49 ? 100 : 0) : 1;
    const mo = g.mn ? MONTH_INDEX(g.mn) : g.M ? +g.M : 1;
    let h = g.H ? +g.H : g.h ? +g.h % 12 : 0;
    if (g.t && /^p/i.test(g.t)) h += 12;
    let zone = g.z === undefined ? undefined : g.z === 'Z' ? 0 : undefined;
    if (g.z && g.z !== 'Z') { const z = /^([+-])(\d{1,2})(?::(\d{2}))?$/.exec(g.z)!; zone = (z[1] === '-' ? -1 : 1) * (+z[2]! * 60 + +(z[3] ?? 0)); }
    if (/[rR]/.test(f) && f.length === 1) zone = 0;
    try {
      return build(y, mo, g.d ? +g.d : 1, h, g.m ? +g.m : 0, g.s ? +g.s : 0, g.f || undefined, zone, styles);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export const badDate = (s: string | null): never => formatError(`String '${s}' was not recognized as a valid DateTime.`);
