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

/** `{ any-of: [rule, rule] }`: passes when one of its rules passes (e.g. scp has orders.write OR roles has admin) */
export const ClaimRuleGroup = z.strictObject({
  'any-of': z.array(ClaimRule).min(2).describe('alternatives: the group passes when any one of these rules passes'),
});
export const ClaimRequirement = z.union([ClaimRule, ClaimRuleGroup]);
export type ClaimRequirement = z.output<typeof ClaimRequirement>;

export const RequiredClaims = z.array(ClaimRequirement).default([]).describe('claims the token must carry: every entry must pass; an entry `{ any-of: [...] }` passes when one of its rules does');

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

type Compiled = { name: string; any: boolean; separator: string | undefined; values: string[] };

function passes(r: Compiled, claims: Claims): boolean {
  const raw = claimValue(claims, r.name);
  if (raw === undefined || raw === null) return false;
  const have = valuesOf(raw, r.separator);
  if (have === undefined) return false;
  if (r.values.length === 0) return have.length > 0;
  return r.any ? r.values.some((v) => have.includes(v)) : r.values.every((v) => have.includes(v));
}

const compileRule = (r: ClaimRule): Compiled => ({ name: r.name, any: r.match === 'any', separator: r.separator, values: [...new Set(r.values)] });

/**
 * Compile requirements into a check returning the name of the first failing claim (`a or b` for
 * a group), or undefined when every requirement passes.
 */
export function compileClaimRules(rules: readonly ClaimRequirement[]): (claims: Claims) => string | undefined {
  if (rules.length === 0) return () => undefined;
  const compiled = rules.map((r) => ('any-of' in r ? r['any-of'].map(compileRule) : [compileRule(r)]));
  return (claims) => {
    for (const group of compiled) {
      let ok = false;
      for (const r of group) if (passes(r, claims)) { ok = true; break; }
      if (!ok) return group.map((r) => r.name).join(' or ');
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
