import { offsetText, type CsDateTime, type CsTimeSpan } from './datetime.js';
import { fail, formatError } from './exceptions.js';

/** Custom and standard date/time formats of the invariant culture. */
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const STANDARD: Record<string, string> = {
  d: 'MM/dd/yyyy', D: 'dddd, dd MMMM yyyy', f: 'dddd, dd MMMM yyyy HH:mm', F: 'dddd, dd MMMM yyyy HH:mm:ss',
  g: 'MM/dd/yyyy HH:mm', G: 'MM/dd/yyyy HH:mm:ss', m: 'MMMM dd', M: 'MMMM dd', o: "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
  O: "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", r: "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", R: "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
  s: "yyyy'-'MM'-'dd'T'HH':'mm':'ss", t: 'HH:mm', T: 'HH:mm:ss', u: "yyyy'-'MM'-'dd HH':'mm':'ss'Z'", U: 'dddd, dd MMMM yyyy HH:mm:ss',
  y: 'yyyy MMMM', Y: 'yyyy MMMM',
};

export function expandStandard(f: string): string {
  if (f.length === 1) {
    const p = STANDARD[f];
    if (!p) formatError('Input string was not in a correct format.');
    return p!;
  }
  return f;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Splits a custom format into tokens: runs of the same pattern letter, quoted text, escapes. */
export function tokenize(f: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < f.length;) {
    const c = f[i]!;
    if (c === "'" || c === '"') {
      const e = f.indexOf(c, i + 1);
      out.push(`'${f.slice(i + 1, e < 0 ? f.length : e)}`);
      i = e < 0 ? f.length : e + 1;
    } else if (c === '\\') { out.push(`'${f[i + 1] ?? ''}`); i += 2; } else if (c === '%' && f.length > 1) i++;
    else if (/[yMdHhmsfFtzKgT]/.test(c)) {
      let j = i;
      while (f[j] === c) j++;
      out.push(f.slice(i, j));
      i = j;
    } else { out.push(`'${c}`); i++; }
  }
  return out;
}

export function formatDateTime(dt: CsDateTime, format: string, offsetMin: number, isOffset = false): string {
  let f = format === '' ? 'G' : format;
  let v = dt;
  if (f === 'r' || f === 'R' || f === 'u' || f === 'U') v = offsetMin ? new (dt.constructor as typeof CsDateTime)(dt.ms - offsetMin * 60_000) : dt;
  f = expandStandard(f);
  let out = '';
  for (const t of tokenize(f)) {
    if (t[0] === "'") { out += t.slice(1); continue; }
    const n = t.length;
    switch (t[0]) {
      case 'y': out += n === 2 ? pad(v.year % 100, 2) : n === 1 ? String(v.year % 100) : pad(v.year, n); break;
      case 'M': out += n >= 4 ? MONTHS[v.month - 1] : n === 3 ? MONTHS[v.month - 1]!.slice(0, 3) : pad(v.month, n); break;
      case 'd': out += n >= 4 ? DAYS[v.dayOfWeek] : n === 3 ? DAYS[v.dayOfWeek]!.slice(0, 3) : pad(v.day, n); break;
      case 'H': out += pad(v.hour, Math.min(n, 2)); break;
      case 'h': out += pad(v.hour % 12 || 12, Math.min(n, 2)); break;
      case 'm': out += pad(v.minute, Math.min(n, 2)); break;
      case 's': out += pad(v.second, Math.min(n, 2)); break;
      case 'f': case 'F': {
        const frac = pad(v.millisecond * 10000 + v.sub, 7).slice(0, n);
        out += t[0] === 'F' ? frac.replace(/0+$/, '') : frac;
        if (t[0] === 'F' && frac.replace(/0+$/, '') === '' && out.endsWith('.')) out = out.slice(0, -1);
        break;
      }
      case 't': out += (v.hour < 12 ? 'AM' : 'PM').slice(0, n === 1 ? 1 : 2); break;
      case 'z': {
        const off = offsetMin;
        const a = Math.abs(off);
        const s = off < 0 ? '-' : '+';
        out += n === 1 ? s + Math.floor(a / 60) : n === 2 ? s + pad(Math.floor(a / 60), 2) : `${s}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`;
        break;
      }
      case 'K': out += isOffset ? offsetText(offsetMin) : dt.kind === 1 ? 'Z' : dt.kind === 2 ? '+00:00' : ''; break;
      case 'g': out += 'A.D.'; break;
      default: out += t;
    }
  }
  return out;
}

/** TimeSpan formats: `c` (and empty), `g`, `G`, and custom (`hh\:mm\:ss`, `d\.hh`). */
export function formatTimeSpan(ts: CsTimeSpan, format: string): string {
  const neg = ts.ticks < 0;
  const t = Math.abs(ts.ticks);
  const days = Math.floor(t / 864_000_000_000);
  const rest = t - days * 864_000_000_000;
  const h = Math.floor(rest / 36_000_000_000), m = Math.floor(rest / 600_000_000) % 60, s = Math.floor(rest / 10_000_000) % 60;
  const frac = Math.round(rest % 10_000_000);
  if (format === '' || format === 'c' || format === 't' || format === 'T' || format === 'g' || format === 'G') {
    const long = format === 'G';
    const dayPart = days || long ? `${days}${format === 'g' || long ? ':' : '.'}` : '';
    const fracPart = frac || long ? `.${pad(frac, 7)}` : '';
    const hh = format === 'g' && !days ? String(h) : pad(h, 2);
    return `${neg ? '-' : ''}${dayPart}${hh}:${pad(m, 2)}:${pad(s, 2)}${format === 'g' && frac ? `.${pad(frac, 7).replace(/0+$/, '')}` : fracPart}`;
  }
  let out = '';
  for (const tk of tokenize(format)) {
    if (tk[0] === "'") { out += tk.slice(1); continue; }
    const n = tk.length;
    switch (tk[0]) {
      case 'd': out += pad(days, n); break;
      case 'h': out += pad(h, Math.min(n, 2)); break;
      case 'm': out += pad(m, Math.min(n, 2)); break;
      case 's': out += pad(s, Math.min(n, 2)); break;
      case 'f': out += pad(frac, 7).slice(0, n); break;
      case 'F': out += pad(frac, 7).slice(0, n).replace(/0+$/, ''); break;
      default: fail('FormatException', 'Input string was not in a correct format.');
    }
  }
  return out;
}

export { MONTHS, DAYS };
