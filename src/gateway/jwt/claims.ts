import { z } from 'zod';
import type { Claims } from '../exchange.js';

/**
 * Claim rules (`required-claims`), shared by validate-jwt and check-claims, and the encoding of
 * claim values into backend headers (`forward-claims`).
 */
export const ClaimRule = z.strictObject({
  name: z.string().min(1).describe('claim name; a dotted name (`realm_access.roles`) walks into objects when no claim has that literal name'),
  match: z.enum(['all', 'any']).default('all').describe('`all`: the claim must contain every value; `any`: at least one'),
  separator: z.string().min(1).optional().describe('split a string claim into values on this separator (e.g. " " for `scp`)'),
  values: z.array(z.string()).default([]).describe('accepted values; empty: the claim only has to be present'),
});
export type ClaimRule = z.output<typeof ClaimRule>;

export const RequiredClaims = z.array(ClaimRule).default([]).describe('claims the token must carry (all rules must pass)');

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** A claim by name; a dotted name walks into objects when no claim has that literal name. */
export function claimValue(claims: Claims, name: string): unknown {
  if (hasOwn(claims, name)) return claims[name];
  if (name.indexOf('.') === -1) return undefined;
  let cur: unknown = claims;
  for (const part of name.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The values a claim carries, as strings: split strings, array members, stringified scalars. */
function valuesOf(v: unknown, separator: string | undefined): string[] | undefined {
  if (typeof v === 'string') return separator === undefined ? [v] : v.split(separator).filter((x) => x !== '');
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const x of v) if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out.push(String(x));
    return out;
  }
  return undefined;
}

/**
 * Compile rules into a check returning the name of the first failing claim, or undefined when
 * every rule passes.
 */
export function compileClaimRules(rules: readonly ClaimRule[]): (claims: Claims) => string | undefined {
  if (rules.length === 0) return () => undefined;
  const compiled = rules.map((r) => ({ name: r.name, any: r.match === 'any', separator: r.separator, values: [...new Set(r.values)] }));
  return (claims) => {
    for (const r of compiled) {
      const raw = claimValue(claims, r.name);
      if (raw === undefined || raw === null) return r.name;
      const have = valuesOf(raw, r.separator);
      if (have === undefined) return r.name;
      if (r.values.length === 0) {
        if (have.length === 0) return r.name;
        continue;
      }
      let ok: boolean;
      if (r.any) ok = r.values.some((v) => have.includes(v));
      else ok = r.values.every((v) => have.includes(v));
      if (!ok) return r.name;
    }
    return undefined;
  };
}

const HEX = '0123456789ABCDEF';

/** Percent-encode as UTF-8 every character outside printable ASCII, `%`, `,` and (at the ends) space. */
function encodeString(s: string): string {
  const last = s.length - 1;
  let plain = true;
  for (let i = 0; i <= last; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25 || c === 0x2c || (c === 0x20 && (i === 0 || i === last))) { plain = false; break; }
  }
  if (plain) return s;
  // Buffer.from replaces lone surrogates with U+FFFD instead of throwing (encodeURIComponent throws)
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const edgeSpace = b === 0x20 && (i === 0 || i === bytes.length - 1);
    if (b >= 0x20 && b <= 0x7e && b !== 0x25 && b !== 0x2c && !edgeSpace) out += String.fromCharCode(b);
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/**
 * A claim value as a backend header value, or undefined when the claim is absent/null/empty.
 *
 * - strings: printable ASCII is sent as is; every other character (non-ASCII, control
 *   characters), `%` and `,` are percent-encoded as UTF-8 (so `decodeURIComponent` restores the
 *   value, and no byte above 0x7E or CR/LF ever reaches the header);
 * - numbers and booleans: their JSON text;
 * - arrays: each member encoded as above, joined with `,` (members never contain a raw `,`);
 * - objects: their JSON text, encoded as a string.
 */
export function encodeClaimHeader(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : encodeString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    return v.map((x) => (typeof x === 'string' ? encodeString(x) : encodeString(JSON.stringify(x) ?? 'null'))).join(',');
  }
  return encodeString(JSON.stringify(v) ?? '');
}
