import { z } from 'zod';

/**
 * The words of config errors: what a value is, what was expected instead, and the key that was
 * probably meant. Kept apart from the loader so that every message is written in one place.
 */

/** A value as a person would name it: `the string "abc"`, `the number 5`, `a list`, ... */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v === 'number' ? 'the number' : ''} ${String(v)}`.trim();
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return typeof v;
}

const TYPE_NAMES: Record<string, string> = { object: 'a map', array: 'a list', string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false' };

/** What an issue expected, in words (`a number or a map`), or undefined when it does not say. */
export function expectedOf(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'invalid_type') return TYPE_NAMES[issue.expected] ?? issue.expected;
  if (issue.code === 'invalid_value') return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_union') {
    const branches = (issue as unknown as { errors: z.core.$ZodIssue[][] }).errors ?? [];
    const names = new Set<string>();
    for (const b of branches) {
      const first = b[0];
      if (first !== undefined && first.path.length === 0) { const e = expectedOf(first); if (e) names.add(e); }
    }
    if (names.size > 0) return [...names].join(' or ');
  }
  return undefined;
}

/** The candidate closest to `word` when it is close enough to be a typo of it. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

interface JsonSchema { properties?: Record<string, JsonSchema>; items?: JsonSchema; additionalProperties?: JsonSchema | boolean; anyOf?: JsonSchema[]; oneOf?: JsonSchema[] }

const jsonSchemas = new WeakMap<z.ZodType, JsonSchema>();

/** The keys the schema knows at `path` (an object's properties), for did-you-mean. */
export function knownKeys(schema: z.ZodType, path: ReadonlyArray<string | number>): string[] {
  let js = jsonSchemas.get(schema);
  if (js === undefined) {
    try { js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema; } catch { js = {}; }
    jsonSchemas.set(schema, js);
  }
  let at: JsonSchema[] = [js];
  for (const seg of path) {
    const next: JsonSchema[] = [];
    for (const s of at.flatMap(alternatives)) {
      if (typeof seg === 'number') { if (s.items) next.push(s.items); } else if (s.properties?.[seg]) next.push(s.properties[seg]!);
      else if (typeof s.additionalProperties === 'object') next.push(s.additionalProperties);
    }
    at = next;
  }
  return [...new Set(at.flatMap(alternatives).flatMap((s) => Object.keys(s.properties ?? {})))];
}

function alternatives(s: JsonSchema): JsonSchema[] {
  const alts = s.anyOf ?? s.oneOf;
  return alts ? alts.flatMap(alternatives) : [s];
}
