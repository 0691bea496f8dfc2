import { charge } from './budget.js';
import { formatError } from './exceptions.js';
import { formatDouble } from './numbers.js';
import { toCsString } from './values.js';

/**
 * .NET formatting with the invariant culture: standard numeric formats (C, D, E, F, G, N, P, R, X
 * with precision), custom numeric formats (`0`, `#`, `.`, `,`, `%`, literals, sections), composite
 * formats (`string.Format("{0,-8:F2}")`) and interpolation holes. Dates, times and GUIDs format
 * themselves (`csFormat`).
 */
interface Formattable { csFormat(format: string): string }

const isFormattable = (v: unknown): v is Formattable => typeof v === 'object' && v !== null && typeof (v as Formattable).csFormat === 'function';

export function formatValue(v: unknown, format: string | undefined): string {
  if (format === undefined || format === '') return toCsString(v);
  if (typeof v === 'number' || typeof v === 'bigint') return formatNumber(v, format);
  if (isFormattable(v)) return v.csFormat(format);
  return toCsString(v);
}

export function formatHole(format: string | undefined, align: number | undefined): (v: unknown) => string {
  return (v) => pad(formatValue(v, format), align);
}

function pad(s: string, align: number | undefined): string {
  if (!align) return s;
  if (Math.abs(align) >= 1_000_000) formatError('The alignment must be less than 1000000.');
  charge(Math.abs(align));
  return align > 0 ? s.padStart(align) : s.padEnd(-align);
}

/** `string.Format(format, args)`. */
export function compositeFormat(format: string | null, args: unknown[]): string {
  if (format === null) formatError('Value cannot be null. (Parameter \'format\')');
  let out = '';
  for (let i = 0; i < format!.length; i++) {
    const c = format![i]!;
    if (c === '{') {
      if (format![i + 1] === '{') { out += '{'; i++; continue; }
      const end = format!.indexOf('}', i);
      const m = end < 0 ? null : /^\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?(?::(.*))?$/s.exec(format!.slice(i + 1, end));
      if (!m) formatError('Input string was not in a correct format.');
      const idx = Number(m![1]);
      if (idx >= args.length) formatError('Index (zero based) must be greater than or equal to zero and less than the size of the argument list.');
      out += pad(formatValue(args[idx], m![3]), m![2] ? Number(m![2]) : undefined);
      i = end;
    } else if (c === '}') {
      if (format![i + 1] !== '}') formatError('Input string was not in a correct format.');
      out += '}';
      i++;
    } else out += c;
  }
  return out;
}

const STANDARD = /^([CcDdEeFfGgNnPpRrXx])(\d{0,2})$/;

export function formatNumber(v: number | bigint, format: string): string {
  const m = STANDARD.exec(format);
  if (!m) return customNumber(typeof v === 'bigint' ? Number(v) : v, format);
  const kind = m[1]!.toUpperCase();
  const prec = m[2] === '' ? undefined : Number(m[2]);
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (!Number.isFinite(n)) return formatDouble(n);
  switch (kind) {
    case 'D': {
      if (typeof v !== 'bigint' && !Number.isInteger(v)) formatError('Format specifier was invalid.');
      const neg = typeof v === 'bigint' ? v < 0n : v < 0;
      const digits = (typeof v === 'bigint' ? (neg ? -v : v) : Math.abs(v)).toString();
      return (neg ? '-' : '') + digits.padStart(prec ?? 0, '0');
    }
    case 'X': {
      if (typeof v !== 'bigint' && !Number.isInteger(v)) formatError('Format specifier was invalid.');
      const hex = typeof v === 'bigint' ? BigInt.asUintN(64, v).toString(16) : (v >>> 0).toString(16);
      const s = hex.padStart(prec ?? 0, '0');
      return m[1] === 'X' ? s.toUpperCase() : s;
    }
    case 'F': return fixed(n, prec ?? 2);
    case 'N': return group(fixed(n, prec ?? 2));
    case 'C': return (n < 0 ? '-¤' : '¤') + group(fixed(Math.abs(n), prec ?? 2));
    case 'P': return `${group(fixed(n * 100, prec ?? 2))} %`;
    case 'E': {
      const [mant, exp] = n.toExponential(prec ?? 6).split('e') as [string, string];
      const e = Number(exp);
      return `${mant}${m[1] === 'e' ? 'e' : 'E'}${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(3, '0')}`;
    }
    case 'G': {
      if (prec === undefined || prec === 0) return typeof v === 'bigint' ? v.toString() : formatDouble(n);
      const p = Number(n.toPrecision(prec));
      return formatDouble(p);
    }
    default: return typeof v === 'bigint' ? v.toString() : formatDouble(n);
  }
}

/** Fixed-point text, with `-0.00` shown as `0.00` as .NET Core 3.0+ does only for true zero. */
function fixed(n: number, digits: number): string {
  const s = Math.abs(n) >= 1e21 ? BigInt(Math.round(n)).toString() + (digits ? `.${'0'.repeat(digits)}` : '') : n.toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

function group(s: string): string {
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const [int, frac] = body.split('.') as [string, string | undefined];
  const g = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : '') + g + (frac !== undefined ? `.${frac}` : '');
}

type Tok = { kind: 'digit'; zero: boolean } | { kind: 'lit'; text: string } | { kind: 'point' } | { kind: 'comma' } | { kind: 'percent' };

function tokens(section: string): Tok[] {
  const out: Tok[] = [];
  for (let i = 0; i < section.length; i++) {
    const c = section[i]!;
    if (c === '0' || c === '#') out.push({ kind: 'digit', zero: c === '0' });
    else if (c === '.') out.push({ kind: 'point' });
    else if (c === ',') out.push({ kind: 'comma' });
    else if (c === '%') out.push({ kind: 'percent' });
    else if (c === '\\') { out.push({ kind: 'lit', text: section[i + 1] ?? '' }); i++; } else if (c === '"' || c === "'") {
      const e = section.indexOf(c, i + 1);
      out.push({ kind: 'lit', text: section.slice(i + 1, e < 0 ? undefined : e) });
      i = e < 0 ? section.length : e;
    } else out.push({ kind: 'lit', text: c });
  }
  return out;
}

function splitSections(format: string): string[] {
  const out: string[] = [];
  let cur = '', q = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (q) { cur += c; if (c === q) q = ''; continue; }
    if (c === '\\') { cur += c + (format[i + 1] ?? ''); i++; continue; }
    if (c === '"' || c === "'") q = c;
    if (c === ';') { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}

/** Custom numeric formats: `0.00`, `#,##0`, `000-00-0000`, `0.#%`, `pos;neg;zero`. */
export function customNumber(n: number, format: string): string {
  const sections = splitSections(format);
  let section = sections[0]!;
  let sign = n < 0 ? '-' : '';
  if (n < 0 && sections[1] !== undefined && sections[1] !== '') { section = sections[1]; sign = ''; }
  if (n === 0 && sections[2] !== undefined && sections[2] !== '') section = sections[2];
  const toks = tokens(section);
  const point = toks.findIndex((t) => t.kind === 'point');
  const intToks = point < 0 ? toks : toks.slice(0, point);
  const fracToks = point < 0 ? [] : toks.slice(point + 1);
  let value = Math.abs(n);
  if (toks.some((t) => t.kind === 'percent')) value *= 100;
  // commas right before the point (or the end) scale by 1000 each
  let k = intToks.length - 1;
  while (k >= 0 && intToks[k]!.kind === 'comma') { value /= 1000; k--; }
  const grouping = intToks.slice(0, k + 1).some((t) => t.kind === 'comma');
  const fracDigits = fracToks.filter((t) => t.kind === 'digit');
  const minFrac = fracDigits.filter((t) => t.kind === 'digit' && t.zero).length;
  let [intPart, fracPart = ''] = value.toFixed(fracDigits.length).split('.') as [string, string?];
  while (fracPart.length > minFrac && fracPart.endsWith('0')) fracPart = fracPart.slice(0, -1);
  if (intPart === '0' && !intToks.some((t) => t.kind === 'digit' && t.zero)) intPart = '';
  const intOut = fillInteger(intToks, intPart, grouping);
  let fracOut = '';
  let fi = 0;
  for (const t of fracToks) {
    if (t.kind === 'digit') { if (fi < fracPart.length) fracOut += fracPart[fi]; fi++; } else if (t.kind === 'lit') fracOut += t.text;
    else if (t.kind === 'percent') fracOut += '%';
  }
  const result = intOut + (fracPart.length ? `.${fracOut}` : fracOut.replace(/\d/g, ''));
  const isZero = !/[1-9]/.test(intPart + fracPart);
  return (isZero ? '' : sign) + result;
}

function fillInteger(toks: Tok[], digits: string, grouping: boolean): string {
  const places = toks.filter((t) => t.kind === 'digit');
  if (grouping) digits = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const plain = digits.replace(/,/g, '');
  const extra = plain.length - places.length;
  let di = digits.length - 1;
  let out = '';
  let placeIndex = places.length - 1;
  for (let i = toks.length - 1; i >= 0; i--) {
    const t = toks[i]!;
    if (t.kind === 'digit') {
      if (placeIndex === 0 && extra > 0) { out = digits.slice(0, di + 1) + out; di = -1; } else if (di >= 0) {
        if (digits[di] === ',') { out = ',' + out; di--; }
        out = digits[di--]! + out;
      } else if (t.zero) out = '0' + out;
      placeIndex--;
    } else if (t.kind === 'lit') out = t.text + out;
    else if (t.kind === 'percent') out = '%' + out;
  }
  return out;
}
