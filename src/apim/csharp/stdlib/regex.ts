import { charge, ticks } from '../runtime/budget.js';
import { fail } from '../runtime/exceptions.js';
import { compiled, translate, RegexRefused, type Translated } from '../runtime/regex.js';
import type { CsValue } from '../runtime/values.js';
import { addMembers, defineType, type TypeDef } from '../types.js';

/** System.Text.RegularExpressions: Regex, Match, Group, MatchCollection, RegexOptions. */
const NS = 'System.Text.RegularExpressions';

export class GroupValue implements CsValue {
  readonly csType: string = `${NS}.Group`;
  constructor(readonly success: boolean, readonly value: string, readonly index: number, readonly name: string) {}
  csString(): string { return this.value; }
}

export class MatchValue extends GroupValue {
  override readonly csType = `${NS}.Match`;
  constructor(private readonly m: RegExpExecArray | null, private readonly t: Translated, private readonly input: string) {
    super(m !== null, m?.[0] ?? '', m?.index ?? 0, '0');
  }
  group(key: number | string): GroupValue {
    const m = this.m;
    if (!m) return new GroupValue(false, '', 0, String(key));
    const v = typeof key === 'number' ? m[key] : m.groups?.[key];
    if (v === undefined) return new GroupValue(false, '', 0, String(key));
    const idx = (m as RegExpExecArray & { indices?: Array<[number, number]> }).indices;
    const pos = typeof key === 'number' ? idx?.[key]?.[0] : (idx as unknown as { groups?: Record<string, [number, number]> })?.groups?.[key]?.[0];
    return new GroupValue(true, v, pos ?? m.index + m[0].indexOf(v), String(key));
  }
  get groupCount(): number { return this.m ? this.m.length : 0; }
  next(): MatchValue {
    if (!this.m) return this;
    const re = new RegExp(this.t.re.source, this.t.re.flags.includes('d') ? this.t.re.flags : `${this.t.re.flags}d`);
    re.lastIndex = this.m.index + (this.m[0].length || 1);
    return new MatchValue(re.exec(this.input), this.t, this.input);
  }
}

class RegexValue implements CsValue {
  readonly csType = `${NS}.Regex`;
  constructor(readonly pattern: string, readonly t: Translated) {}
  csString(): string { return this.pattern; }
}

function run(t: Translated, input: string | null): RegExp {
  if (input === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'input')");
  ticks(input.length);
  const re = new RegExp(t.re.source, `${t.re.flags}d`);
  re.lastIndex = 0;
  return re;
}

const match = (t: Translated, input: string | null) => { const re = run(t, input); return new MatchValue(re.exec(input!), t, input!); };
const isMatch = (t: Translated, input: string | null) => { const re = run(t, input); return re.test(input!); };
function matches(t: Translated, input: string | null): MatchValue[] {
  const re = run(t, input);
  const out: MatchValue[] = [];
  for (let m = re.exec(input!); m; m = re.exec(input!)) {
    out.push(new MatchValue(m, t, input!));
    if (m[0] === '') re.lastIndex++;
    charge(1);
  }
  return out;
}

/** A .NET replacement pattern: `$1`, `${name}`, `$$`, `$&`, `` $` ``, `$'`, `$+`, `$_`. */
function expand(rep: string, m: RegExpExecArray, input: string): string {
  return rep.replace(/\$(?:(\d+)|\{(\w+)\}|([$&`'+_]))/g, (all, num?: string, name?: string, sym?: string) => {
    if (num !== undefined) return Number(num) < m.length ? m[Number(num)] ?? '' : all;
    if (name !== undefined) return /^\d+$/.test(name) ? m[Number(name)] ?? '' : m.groups?.[name] ?? all;
    switch (sym) {
      case '$': return '$';
      case '&': return m[0];
      case '`': return input.slice(0, m.index);
      case "'": return input.slice(m.index + m[0].length);
      case '+': return m[m.length - 1] ?? '';
      default: return input;
    }
  });
}

function replace(t: Translated, input: string | null, rep: string | ((m: MatchValue) => string) | null, count = -1): string {
  if (rep === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'replacement')");
  const re = run(t, input);
  let out = '', last = 0, n = 0;
  for (let m = re.exec(input!); m && (count < 0 || n < count); m = re.exec(input!), n++) {
    out += input!.slice(last, m.index) + (typeof rep === 'string' ? expand(rep, m, input!) : rep(new MatchValue(m, t, input!)) ?? '');
    last = m.index + m[0].length;
    if (m[0] === '') re.lastIndex++;
  }
  const result = out + input!.slice(last);
  charge(result.length);
  return result;
}

function split(t: Translated, input: string | null): string[] {
  const re = run(t, input);
  const parts: string[] = [];
  let last = 0;
  for (let m = re.exec(input!); m; m = re.exec(input!)) {
    if (m[0] === '' && m.index === last && m.index !== 0) { re.lastIndex++; continue; }
    if (m[0] === '' && m.index === 0) { re.lastIndex++; continue; }
    parts.push(input!.slice(last, m.index), ...m.slice(1).filter((g): g is string => g !== undefined));
    last = m.index + m[0].length;
    if (m[0] === '') re.lastIndex++;
  }
  parts.push(input!.slice(last));
  charge(parts.length);
  return parts;
}

export const REGEX_OPTIONS = defineType({
  name: 'RegexOptions', ns: NS, valueType: true, is: (v) => typeof v === 'number',
  enumValues: { None: 0, IgnoreCase: 1, Multiline: 2, ExplicitCapture: 4, Compiled: 8, Singleline: 16, IgnorePatternWhitespace: 32, RightToLeft: 64, ECMAScript: 256, CultureInvariant: 512, NonBacktracking: 1024 },
});
const GROUP = defineType({ name: 'Group', ns: NS, is: (v) => v instanceof GroupValue });
const MATCH = defineType({ name: 'Match', ns: NS, base: () => ({ k: 'named', def: GROUP, args: [] }), is: (v) => v instanceof MatchValue });
const GROUPS = defineType({ name: 'GroupCollection', ns: NS, is: (v) => v instanceof MatchValue });
const MATCHES = defineType({ name: 'MatchCollection', ns: NS, is: (v) => Array.isArray(v), elementOf: () => ({ k: 'named', def: MATCH, args: [] }) });
export const REGEX: TypeDef = defineType({ name: 'Regex', ns: NS, is: (v) => v instanceof RegexValue });

addMembers(GROUP, [
  ['Success: bool', (g: GroupValue) => g.success],
  ['Value: string', (g: GroupValue) => g.value],
  ['Index: int', (g: GroupValue) => g.index],
  ['Length: int', (g: GroupValue) => g.value.length],
  ['Name: string', (g: GroupValue) => g.name],
  ['ToString(): string', (g: GroupValue) => g.value],
]);
addMembers(MATCH, [
  ['Groups: GroupCollection', (m: MatchValue) => m],
  ['NextMatch(): Match', (m: MatchValue) => m.next()],
  ['static Empty: Match', () => new MatchValue(null, { re: /$^/g, names: [] }, '')],
]);
addMembers(GROUPS, [
  ['this[int]: Group', (m: MatchValue, i: number) => m.group(i)],
  ['this[string]: Group', (m: MatchValue, k: string) => m.group(/^\d+$/.test(k) ? Number(k) : k)],
  ['Count: int', (m: MatchValue) => m.groupCount],
]);
addMembers(MATCHES, [
  ['Count: int', (a: MatchValue[]) => a.length],
  ['this[int]: Match', (a: MatchValue[], i: number) => a[i] ?? fail('ArgumentOutOfRangeException', "Specified argument was out of the range of valid values. (Parameter 'i')")],
]);

type Ev = (m: MatchValue) => string;
const c = (p: string | null, o = 0) => compiled(p, o);
addMembers(REGEX, [
  ['new(string)', (p: string | null) => new RegexValue(p ?? '', c(p))],
  ['new(string, RegexOptions)', (p: string | null, o: number) => new RegexValue(p ?? '', c(p, o))],
  ['new(string, RegexOptions, TimeSpan)', (p: string | null, o: number) => new RegexValue(p ?? '', c(p, o))],
  ['static IsMatch(string, string): bool', (s: string | null, p: string | null) => isMatch(c(p), s)],
  ['static IsMatch(string, string, RegexOptions): bool', (s: string | null, p: string | null, o: number) => isMatch(c(p, o), s)],
  ['static IsMatch(string, string, RegexOptions, TimeSpan): bool', (s: string | null, p: string | null, o: number) => isMatch(c(p, o), s)],
  ['static Match(string, string): Match', (s: string | null, p: string | null) => match(c(p), s)],
  ['static Match(string, string, RegexOptions): Match', (s: string | null, p: string | null, o: number) => match(c(p, o), s)],
  ['static Matches(string, string): MatchCollection', (s: string | null, p: string | null) => matches(c(p), s)],
  ['static Matches(string, string, RegexOptions): MatchCollection', (s: string | null, p: string | null, o: number) => matches(c(p, o), s)],
  ['static Replace(string, string, string): string', (s: string | null, p: string | null, r: string | null) => replace(c(p), s, r)],
  ['static Replace(string, string, string, RegexOptions): string', (s: string | null, p: string | null, r: string | null, o: number) => replace(c(p, o), s, r)],
  ['static Replace(string, string, Func<Match, string>): string', (s: string | null, p: string | null, f: Ev) => replace(c(p), s, f)],
  ['static Replace(string, string, Func<Match, string>, RegexOptions): string', (s: string | null, p: string | null, f: Ev, o: number) => replace(c(p, o), s, f)],
  ['static Split(string, string): string[]', (s: string | null, p: string | null) => split(c(p), s)],
  ['static Split(string, string, RegexOptions): string[]', (s: string | null, p: string | null, o: number) => split(c(p, o), s)],
  ['static Escape(string): string', (s: string) => s.replace(/[\\*+?|{[()^$.#\s]/g, (x) => ({ '\n': '\\n', '\t': '\\t', '\r': '\\r', ' ': '\\ ', '\f': '\\f' } as Record<string, string>)[x] ?? `\\${x}`)],
  ['static Unescape(string): string', (s: string) => s.replace(/\\(.)/g, (_m, x: string) => ({ n: '\n', t: '\t', r: '\r', f: '\f' } as Record<string, string>)[x] ?? x)],
  ['IsMatch(string): bool', (r: RegexValue, s: string | null) => isMatch(r.t, s)],
  ['Match(string): Match', (r: RegexValue, s: string | null) => match(r.t, s)],
  ['Matches(string): MatchCollection', (r: RegexValue, s: string | null) => matches(r.t, s)],
  ['Replace(string, string): string', (r: RegexValue, s: string | null, rep: string | null) => replace(r.t, s, rep)],
  ['Replace(string, string, int): string', (r: RegexValue, s: string | null, rep: string | null, n: number) => replace(r.t, s, rep, n)],
  ['Replace(string, Func<Match, string>): string', (r: RegexValue, s: string | null, f: Ev) => replace(r.t, s, f)],
  ['Split(string): string[]', (r: RegexValue, s: string | null) => split(r.t, s)],
  ['ToString(): string', (r: RegexValue) => r.pattern],
]);

/** Checks a pattern written as a literal at load, so an unsupported construct is a load error. */
export function checkPattern(pattern: string, options: number): string | undefined {
  try {
    translate(pattern, options);
    return undefined;
  } catch (e) {
    if (e instanceof RegexRefused) return e.message;
    throw e;
  }
}

/** A literal pattern passed to Regex that JavaScript cannot run the same way: a load error. */
export function regexCallProblem(m: { owner: TypeDef; name: string; isStatic: boolean }, args: Array<{ op: string; value?: unknown; start: number; t: { k: string; def?: TypeDef } }>): { start: number; message: string } | undefined {
  if (m.owner !== REGEX || m.name === 'Escape' || m.name === 'Unescape') return undefined;
  const at = m.name === '.ctor' ? 0 : m.isStatic ? 1 : -1;
  const p = args[at];
  if (!p || p.op !== 'const' || typeof p.value !== 'string') return undefined;
  const o = args.find((a) => a.t.k === 'named' && a.t.def === REGEX_OPTIONS);
  const options = o && o.op === 'const' ? (o.value as number) : 0;
  const why = checkPattern(p.value, options);
  return why ? { start: p.start, message: `this regular expression is not supported: ${why}` } : undefined;
}
