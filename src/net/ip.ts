import { isIPv6 } from 'node:net';
import { ConfigError } from '../config/errors.js';

/**
 * IP addresses: normalization, precompiled address/CIDR/range matching, and client-IP
 * resolution behind trusted proxies.
 *
 * Matching is compiled once: every entry becomes an inclusive [start, end] range, ranges are
 * sorted and merged, and a lookup is one binary search. IPv4 ranges are plain numbers in a
 * Float64Array (no allocation per lookup); IPv6 ranges are bigints. So 10,000 entries cost
 * about what 10 do (log2(10,000) ≈ 14 comparisons).
 */

export interface AddressMatcher {
  /** true when `ip` (IPv4, IPv6, IPv4-mapped IPv6) falls in one of the entries; false for garbage */
  has(ip: string): boolean;
  /** number of configured entries (addresses + ranges) */
  readonly size: number;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; IPv6 lower-cased, zone id removed; surrounding spaces trimmed. */
export function normalizeIp(ip: string): string {
  let s = ip.trim();
  if (s.indexOf(':') === -1) return s;
  const pct = s.indexOf('%');
  if (pct !== -1) s = s.slice(0, pct);
  s = s.toLowerCase();
  if (s.startsWith('::ffff:') && s.indexOf('.') !== -1) {
    const v4 = s.slice(7);
    if (parseV4(v4) !== -1) return v4;
  }
  return s;
}

/** Strict dotted-quad → uint32 as a number, or -1. No leading zeros, no short forms. */
export function parseV4(s: string): number {
  const len = s.length;
  if (len < 7 || len > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  let leadingZero = false;
  for (let i = 0; i <= len; i++) {
    const c = i === len ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      parts++;
      if (i !== len && parts === 4) return -1;
      part = 0;
      digits = 0;
      leadingZero = false;
      continue;
    }
    if (c < 48 || c > 57) return -1;
    if (leadingZero) return -1;
    if (digits === 0 && c === 48) leadingZero = true;
    part = part * 10 + (c - 48);
    if (++digits > 3) return -1;
  }
  return parts === 4 ? value : -1;
}

/** IPv6 text → 128-bit bigint, or undefined. Accepts embedded IPv4 in the last 32 bits. */
export function parseV6(input: string): bigint | undefined {
  let s = input;
  const pct = s.indexOf('%');
  if (pct !== -1) s = s.slice(0, pct);
  if (!isIPv6(s)) return undefined;
  s = s.toLowerCase();
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) !== -1) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === -1) return undefined;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    s = s.slice(0, lastColon); // "::ffff:1.2.3.4" → "::ffff", "::1.2.3.4" → ":", "1::1.2.3.4" → "1:"
    if (s.endsWith(':')) s += ':';
  }
  const dbl = s.indexOf('::');
  const toGroups = (p: string) => (p === '' ? [] : p.split(':'));
  let head: string[];
  let rest: string[];
  if (dbl === -1) {
    head = toGroups(s);
    rest = [];
  } else {
    head = toGroups(s.slice(0, dbl));
    rest = toGroups(s.slice(dbl + 2));
  }
  const total = head.length + rest.length + tail.length;
  if (total > 8 || (dbl === -1 && total !== 8)) return undefined;
  const groups = [...head.map((g) => parseInt(g, 16)), ...new Array<number>(8 - total).fill(0), ...rest.map((g) => parseInt(g, 16)), ...tail];
  let hex = '0x';
  for (const g of groups) {
    if (!(g >= 0 && g <= 0xffff)) return undefined;
    hex += g.toString(16).padStart(4, '0');
  }
  return BigInt(hex);
}

const SCRATCH = new Uint32Array(8);

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The hot-path IPv6 parser: writes the address as four 32-bit words into `out` without
 * allocating (a zone id, if any, ends the address). Returns false for anything that is not an
 * IPv6 address. Equivalent to parseV6 (tested against it), which config compilation uses.
 */
export function scanV6(s: string, out: Uint32Array): boolean {
  let n = s.indexOf('%');
  if (n === -1) n = s.length;
  if (n < 2) return false;
  const g = SCRATCH;
  let k = 0;
  let dbl = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    dbl = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let val = 0;
    while (i < n) {
      const h = hexVal(s.charCodeAt(i));
      if (h === -1) break;
      val = val * 16 + h;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 46) {
      // embedded IPv4: the last 32 bits
      if (k > 6) return false;
      const v4 = parseV4(s.slice(start, n));
      if (v4 === -1) return false;
      g[k++] = v4 >>> 16;
      g[k++] = v4 & 0xffff;
      break;
    }
    if (i === start || i - start > 4 || k === 8) return false;
    g[k++] = val;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (dbl !== -1) return false;
      dbl = k;
      i++;
    } else if (i === n) {
      return false; // a single trailing colon
    }
  }
  let words: number[] | Uint32Array = g;
  if (dbl === -1) {
    if (k !== 8) return false;
  } else {
    if (k > 7) return false;
    const full = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < dbl; j++) full[j] = g[j]!;
    const tail = k - dbl;
    for (let j = 0; j < tail; j++) full[8 - tail + j] = g[dbl + j]!;
    words = full;
  }
  out[0] = words[0]! * 65536 + words[1]!;
  out[1] = words[2]! * 65536 + words[3]!;
  out[2] = words[4]! * 65536 + words[5]!;
  out[3] = words[6]! * 65536 + words[7]!;
  return true;
}

const toWords = (v: bigint): [number, number, number, number] => [
  Number((v >> 96n) & 0xffffffffn), Number((v >> 64n) & 0xffffffffn), Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn),
];

const V4_MAPPED_PREFIX = 0xffff00000000n;
const V4_MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);
const V6_MAX = (1n << 128n) - 1n;

type Parsed = { v4: true; start: number; end: number } | { v4: false; start: bigint; end: bigint };

/** Parse an address or CIDR entry of a config list; undefined when it is not one. */
function parseEntry(raw: string): Parsed | undefined {
  const s = raw.trim();
  if (s === '' || s.indexOf('%') !== -1) return undefined;
  const slash = s.indexOf('/');
  const addr = slash === -1 ? s : s.slice(0, slash);
  const bitsText = slash === -1 ? undefined : s.slice(slash + 1);
  let bits: number | undefined;
  if (bitsText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
    bits = Number(bitsText);
  }
  const v4 = parseV4(addr);
  if (v4 !== -1) {
    const b = bits ?? 32;
    if (b > 32) return undefined;
    const size = 2 ** (32 - b);
    const start = Math.floor(v4 / size) * size;
    return { v4: true, start, end: start + size - 1 };
  }
  const v6 = parseV6(addr);
  if (v6 === undefined) return undefined;
  const b = bits ?? 128;
  if (b > 128) return undefined;
  const hostMask = (1n << BigInt(128 - b)) - 1n;
  const start = v6 & ~hostMask & V6_MAX;
  const end = start | hostMask;
  // an IPv4-mapped block (::ffff:a.b.c.d/96..128) means the IPv4 addresses it covers
  if (b >= 96 && (start & V4_MAPPED_MASK) === V4_MAPPED_PREFIX) {
    return { v4: true, start: Number(start & 0xffffffffn), end: Number(end & 0xffffffffn) };
  }
  return { v4: false, start, end };
}

function parseSingle(raw: string): Parsed | undefined {
  if (raw.indexOf('/') !== -1) return undefined;
  return parseEntry(raw);
}

function merge<T extends number | bigint>(ranges: Array<[T, T]>, adjacent: (a: T, b: T) => boolean): Array<[T, T]> {
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Array<[T, T]> = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && (r[0] <= last[1] || adjacent(last[1], r[0]))) {
      if (r[1] > last[1]) last[1] = r[1];
    } else {
      out.push([r[0], r[1]]);
    }
  }
  return out;
}

/**
 * Compile `addresses` (IPv4, IPv6, CIDR) and `ranges` (`from`/`to`, inclusive) into a matcher.
 * Throws a ConfigError naming the bad entry: path `[...paths.addresses, index]` (default `[index]`)
 * or `[...paths.ranges, index, 'from'|'to']` (default `['address-ranges', index, ...]`).
 */
export function compileAddressMatcher(
  addresses: readonly string[],
  ranges: ReadonlyArray<{ from: string; to: string }> = [],
  paths: { addresses?: ReadonlyArray<string | number>; ranges?: ReadonlyArray<string | number> } = {},
): AddressMatcher {
  const aPath = paths.addresses ?? [];
  const rPath = paths.ranges ?? ['address-ranges'];
  const v4: Array<[number, number]> = [];
  const v6: Array<[bigint, bigint]> = [];
  addresses.forEach((a, i) => {
    const p = typeof a === 'string' ? parseEntry(a) : undefined;
    if (p === undefined) {
      throw new ConfigError(`"${String(a)}" is not an IPv4 or IPv6 address or CIDR block (e.g. 203.0.113.7, 10.0.0.0/8, 2001:db8::/32)`, [...aPath, i]);
    }
    if (p.v4) v4.push([p.start, p.end]);
    else v6.push([p.start, p.end]);
  });
  ranges.forEach((r, i) => {
    const from = typeof r.from === 'string' ? parseSingle(r.from) : undefined;
    if (from === undefined) throw new ConfigError(`"${String(r.from)}" is not an IPv4 or IPv6 address`, [...rPath, i, 'from']);
    const to = typeof r.to === 'string' ? parseSingle(r.to) : undefined;
    if (to === undefined) throw new ConfigError(`"${String(r.to)}" is not an IPv4 or IPv6 address`, [...rPath, i, 'to']);
    if (from.v4 !== to.v4) throw new ConfigError('from and to must both be IPv4 or both be IPv6', [...rPath, i, 'to']);
    if (from.start > to.start) throw new ConfigError(`"${r.to}" comes before "${r.from}"`, [...rPath, i, 'to']);
    if (from.v4) v4.push([from.start, to.start as number]);
    else v6.push([from.start as bigint, to.start as bigint]);
  });
  const m4 = merge(v4, (a, b) => b === a + 1);
  const m6 = merge(v6, (a, b) => b === a + 1n);
  const s4 = Float64Array.from(m4, (r) => r[0]);
  const e4 = Float64Array.from(m4, (r) => r[1]);
  const s6 = new Float64Array(m6.length * 4);
  const e6 = new Float64Array(m6.length * 4);
  m6.forEach((r, i) => {
    s6.set(toWords(r[0]), i * 4);
    e6.set(toWords(r[1]), i * 4);
  });
  const n4 = s4.length;
  const n6 = m6.length;
  const x6 = new Uint32Array(4);

  const has4 = (x: number): boolean => {
    let lo = 0;
    let hi = n4 - 1;
    // find the last range whose start <= x
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (s4[mid]! <= x) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && x <= e4[hi]!;
  };
  /** compare the 4-word value at `arr[i*4..]` with x6: <0, 0, >0 */
  const cmp = (arr: Float64Array, i: number): number => {
    const o = i * 4;
    for (let j = 0; j < 4; j++) {
      const d = arr[o + j]! - x6[j]!;
      if (d !== 0) return d;
    }
    return 0;
  };
  const has6 = (): boolean => {
    let lo = 0;
    let hi = n6 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(s6, mid) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && cmp(e6, hi) >= 0;
  };

  return {
    size: addresses.length + ranges.length,
    has(ip: string): boolean {
      if (typeof ip !== 'string') return false;
      const x = parseV4(ip);
      if (x !== -1) return n4 !== 0 && has4(x);
      if (ip.indexOf(':') === -1 || !scanV6(ip, x6)) return false;
      if (x6[0] === 0 && x6[1] === 0 && x6[2] === 0xffff) return n4 !== 0 && has4(x6[3]!);
      return n6 !== 0 && has6();
    },
  };
}

/** An X-Forwarded-For entry → a normalized IP, or undefined when it is not one. */
function hopAddress(entry: string): string | undefined {
  let s = entry.trim();
  if (s.startsWith('[')) {
    // "[2001:db8::1]" or "[2001:db8::1]:443"
    const close = s.indexOf(']');
    if (close === -1) return undefined;
    const after = s.slice(close + 1);
    if (after !== '' && !/^:[0-9]{1,5}$/.test(after)) return undefined;
    s = s.slice(1, close);
  }
  if (parseV4(s) !== -1) return s;
  if (s.indexOf(':') !== -1 && s.indexOf('%') === -1 && parseV6(s) !== undefined) return normalizeIp(s);
  return undefined;
}

/**
 * The client's IP: the socket's address, unless the socket is a trusted proxy. Then
 * X-Forwarded-For is walked right to left (several headers count as one list, in order) and the
 * first address that is not a trusted proxy is the client. A garbage entry stops the walk: the
 * last good hop (a trusted proxy) is the answer, so a client can never choose its own address
 * by sending junk. When every hop is trusted, the leftmost one wins.
 */
export function resolveClientIp(socketIp: string, xff: string | string[] | undefined, trusted: AddressMatcher): string {
  const socket = normalizeIp(socketIp);
  if (xff === undefined || trusted.size === 0 || !trusted.has(socket)) return socket;
  const list = Array.isArray(xff) ? xff.join(',') : xff;
  if (list === '') return socket;
  let current = socket;
  let end = list.length;
  while (end >= 0) {
    const comma = list.lastIndexOf(',', end - 1);
    const entry = list.slice(comma + 1, end);
    end = comma;
    const hop = hopAddress(entry);
    if (hop === undefined) return current;
    current = hop;
    if (!trusted.has(hop)) return hop;
    if (comma === -1) break;
  }
  return current;
}
