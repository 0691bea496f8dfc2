import { fail } from './exceptions.js';

/**
 * .NET regular expressions translated to JavaScript ones, once per pattern (cached). What JS
 * cannot do the same way is refused rather than approximated: atomic groups, conditionals,
 * balancing groups, inline options other than at the start, character-class subtraction, `\G`,
 * Unicode block names and RightToLeft. A JS regex cannot be interrupted, so patterns whose
 * backtracking can explode (an unbounded quantifier on a group that contains one, as in `(a+)+`)
 * are refused too.
 */
export const enum Opt { IgnoreCase = 1, Multiline = 2, ExplicitCapture = 4, Singleline = 16, IgnorePatternWhitespace = 32, RightToLeft = 64, ECMAScript = 256 }

export interface Translated { re: RegExp; names: string[] }

export class RegexRefused extends Error {}

const refuse = (why: string): never => { throw new RegexRefused(why); };

/** Translates a .NET pattern; throws RegexRefused with a reason. */
// eslint-disable-next-line max-lines-per-function -- one pass over the pattern; its cases read best together
export function translate(pattern: string, options: number): Translated {
  if (options & Opt.RightToLeft) refuse('RegexOptions.RightToLeft is not supported');
  let opts = options;
  let p = pattern;
  const lead = /^\(\?([imnsx]+)\)/.exec(p);
  if (lead) {
    for (const c of lead[1]!) opts |= { i: Opt.IgnoreCase, m: Opt.Multiline, n: Opt.ExplicitCapture, s: Opt.Singleline, x: Opt.IgnorePatternWhitespace }[c as 'i']!;
    p = p.slice(lead[0].length);
  }
  const names: string[] = [];
  let out = '';
  let unicode = false;
  // per open group: whether it contains an unbounded quantifier
  const groups: boolean[] = [];
  let lastUnbounded = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (opts & Opt.IgnorePatternWhitespace) {
      if (/\s/.test(c)) continue;
      if (c === '#') { while (i < p.length && p[i] !== '\n') i++; continue; }
    }
    if (c === '\\') {
      const n = p[i + 1] ?? refuse('the pattern ends with a backslash');
      if (n === 'A') out += '(?<![\\s\\S])';
      else if (n === 'z') out += '(?![\\s\\S])';
      else if (n === 'Z') out += '(?=\\n?(?![\\s\\S]))';
      else if (n === 'G') refuse('\\G is not supported');
      else if (n === 'e') out += '\\x1B';
      else if (n === 'k' && p[i + 2] === "'") { const e = p.indexOf("'", i + 3); out += `\\k<${p.slice(i + 3, e)}>`; i = e; continue; } else if (n === 'p' || n === 'P') {
        const m = /^\{(\w+)\}/.exec(p.slice(i + 2));
        if (!m || /^Is/.test(m[1]!)) refuse(`the Unicode block or category '${m?.[1] ?? ''}' is not supported`);
        unicode = true;
        out += `\\${n}{${m![1]}}`;
        i += m![0].length + 1;
        continue;
      } else out += `\\${n}`;
      i++;
      lastUnbounded = false;
      continue;
    }
    if (c === '[') { const end = charClass(p, i); out += p.slice(i, end + 1); i = end; lastUnbounded = false; continue; }
    if (c === '(') {
      if (p[i + 1] === '?') {
        const rest = p.slice(i + 2);
        if (rest.startsWith('#')) { i = p.indexOf(')', i); continue; }
        if (rest.startsWith('>')) refuse('atomic groups (?>…) are not supported');
        if (rest.startsWith('(')) refuse('conditional groups (?(…)…) are not supported');
        const named = /^(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/.exec(rest);
        if (named) { names.push((named[1] ?? named[2])!); out += `(?<${named[1] ?? named[2]}>`; i += 1 + named[0].length; groups.push(false); continue; }
        if (/^<\w*-\w+>/.test(rest) || /^'\w*-\w+'/.test(rest)) refuse('balancing groups are not supported');
        if (/^[imnsx-]+[:)]/.test(rest)) refuse('inline options are only supported at the start of the pattern');
        if (!/^(?::|=|!|<=|<!)/.test(rest)) refuse(`unknown group construct '(?${rest.slice(0, 2)}'`);
        out += '(';
      } else out += opts & Opt.ExplicitCapture ? '(?:' : '(';
      groups.push(false);
      continue;
    }
    if (c === ')') {
      const inner = groups.pop() ?? refuse('too many closing parentheses');
      out += ')';
      const q = /^(?:[*+]|\{\d+,\})/.exec(p.slice(i + 1));
      if (q && inner) refuse('a group with an unbounded quantifier inside is itself repeated without bound (catastrophic backtracking, as in (a+)+)');
      if (groups.length) groups[groups.length - 1] ||= inner;
      lastUnbounded = false;
      continue;
    }
    if (c === '*' || c === '+' || (c === '{' && /^\{\d+,\}/.test(p.slice(i)))) {
      if (groups.length) groups[groups.length - 1] = true;
      lastUnbounded = true;
    }
    if (c === '$' && !(opts & Opt.Multiline)) { out += '(?=\\n?(?![\\s\\S]))'; continue; }
    out += c;
  }
  void lastUnbounded;
  if (groups.length) refuse('a group is not closed');
  let flags = 'g';
  if (opts & Opt.IgnoreCase) flags += 'i';
  if (opts & Opt.Multiline) flags += 'm';
  if (opts & Opt.Singleline) flags += 's';
  if (unicode) flags += 'u';
  try {
    return { re: new RegExp(out, flags), names };
  } catch (e) {
    return refuse(`the pattern is not valid: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

function charClass(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++;
  for (; i < p.length; i++) {
    if (p[i] === '\\') { i++; continue; }
    if (p[i] === '-' && p[i + 1] === '[') refuse('character class subtraction ([a-z-[aeiou]]) is not supported');
    if (p[i] === ']') return i;
  }
  return refuse('a character class is not closed');
}

const cache = new Map<string, Translated>();

/** The translated pattern, from the cache; a refusal or syntax error is an ArgumentException. */
export function compiled(pattern: string | null, options: number): Translated {
  if (pattern === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'pattern')");
  const key = `${options}\u0000${pattern}`;
  let t = cache.get(key);
  if (!t) {
    try {
      t = translate(pattern, options);
    } catch (e) {
      if (e instanceof RegexRefused) return fail('ArgumentException', `Invalid pattern '${pattern}': ${e.message}.`);
      throw e;
    }
    if (cache.size >= 512) cache.delete(cache.keys().next().value!);
    cache.set(key, t);
  }
  return t;
}
