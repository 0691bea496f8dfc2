import type { ExchangeContext } from './context.js';
import { EMPTY, FILTERS, compare, member, truthy, type Filter } from './liquid-values.js';

/** Liquid values and conditions: literals, paths (`a.b[0]["c"]`), ranges, comparisons, and/or. */

export type Expr =
  | { k: 'lit'; v: unknown }
  | { k: 'path'; root: string; steps: Array<string | Expr> }
  | { k: 'range'; from: Expr; to: Expr }
  | { k: 'cmp'; op: string; a: Expr; b: Expr }
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'not'; e: Expr }
  /** a bare word as a filter argument: a variable when one is assigned, else the word itself (`Default: none`) */
  | { k: 'word'; name: string };

export interface Scope { locals: Map<string, unknown>; context: ExchangeContext; body: () => unknown }

const LEX = /\s*(?:("[^"]*"|'[^']*')|(-?\d+(?:\.\d+)?)(?![\w.]*[A-Za-z_])|(\.\.|==|!=|<>|<=|>=|<|>|[.[\](),:|])|([A-Za-z_][\w-]*\??))/y;
const LITERALS: Record<string, unknown> = { true: true, false: false, nil: null, null: null, empty: EMPTY, blank: EMPTY };
const OPS = new Set(['==', '!=', '<>', '<', '>', '<=', '>=', 'contains']);

function lex(src: string, fail: (m: string) => never): string[] {
  const out: string[] = [];
  LEX.lastIndex = 0;
  while (LEX.lastIndex < src.length) {
    if (/^\s*$/.test(src.slice(LEX.lastIndex))) break;
    const at = LEX.lastIndex;
    const m = LEX.exec(src);
    if (!m) fail(`cannot read "${src.slice(at).trim()}"`);
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
  }
  return out;
}

class ExprParser {
  i = 0;
  constructor(readonly t: string[], readonly fail: (m: string) => never) {}
  peek(): string | undefined { return this.t[this.i]; }
  eat(s: string): boolean { if (this.t[this.i] === s) { this.i++; return true; } return false; }
  expect(s: string): void { if (!this.eat(s)) this.fail(`expected "${s}"${this.peek() ? ` before "${this.peek()}"` : ''}`); }

  condition(): Expr {
    const a = this.comparison();
    const w = this.peek();
    if (w === 'and' || w === 'or') { this.i++; return { k: w, a, b: this.condition() }; }
    return a;
  }
  comparison(): Expr {
    const a = this.primary();
    const op = this.peek();
    if (op !== undefined && OPS.has(op)) { this.i++; return { k: 'cmp', op, a, b: this.primary() }; }
    return a;
  }
  primary(): Expr {
    const tok = this.t[this.i++];
    if (tok === undefined) return this.fail('a value is missing');
    if (tok.startsWith('"') || tok.startsWith("'")) return { k: 'lit', v: tok.slice(1, -1) };
    if (/^-?\d/.test(tok)) return { k: 'lit', v: Number(tok) };
    if (tok === '(') {
      const from = this.primary();
      this.expect('..');
      const to = this.primary();
      this.expect(')');
      return { k: 'range', from, to };
    }
    if (!/^[A-Za-z_]/.test(tok)) return this.fail(`unexpected "${tok}"`);
    if (Object.hasOwn(LITERALS, tok) && this.peek() !== '.' && this.peek() !== '[') return { k: 'lit', v: LITERALS[tok] };
    const steps: Array<string | Expr> = [];
    for (;;) {
      if (this.eat('.')) {
        const name = this.t[this.i++];
        if (name === undefined || !/^[A-Za-z_0-9]/.test(name)) this.fail(`a name is missing after "${tok}."`);
        steps.push(name);
      } else if (this.eat('[')) {
        steps.push(this.primary());
        this.expect(']');
      } else break;
    }
    return { k: 'path', root: tok, steps };
  }
}

export function parseExpression(src: string, fail: (m: string) => never): Expr {
  const p = new ExprParser(lex(src, fail), fail);
  const e = p.condition();
  if (p.peek() !== undefined) fail(`unexpected "${p.peek()}" in "${src.trim()}"`);
  return e;
}

/** `name: arg, arg | name` after a value's first `|`. */
export function parseFilters(src: string, fail: (m: string) => never): Filter[] {
  const out: Filter[] = [];
  const p = new ExprParser(lex(src, fail), fail);
  for (;;) {
    const name = p.t[p.i++];
    if (name === undefined || !/^[A-Za-z_]/.test(name)) fail('a filter name is missing');
    const key = name.toLowerCase().replace(/_/g, '');
    if (!Object.hasOwn(FILTERS, key) || key === 'tostring' || key === 'items' || key === 'equals') fail(`the filter "${name}" is not supported`);
    const args: Expr[] = [];
    const arg = (): Expr => { const a = p.primary(); return a.k === 'path' && a.steps.length === 0 && a.root !== 'body' && a.root !== 'context' ? { k: 'word', name: a.root } : a; };
    if (p.eat(':')) do args.push(arg()); while (p.eat(','));
    out.push({ name: key, args });
    if (p.peek() === undefined) return out;
    p.expect('|');
  }
}

export function evaluate(e: Expr, s: Scope): unknown {
  switch (e.k) {
    case 'lit': return e.v;
    case 'word': return s.locals.has(e.name) ? s.locals.get(e.name) : e.name;
    case 'not': return !truthy(evaluate(e.e, s));
    case 'and': return truthy(evaluate(e.a, s)) && truthy(evaluate(e.b, s));
    case 'or': return truthy(evaluate(e.a, s)) || truthy(evaluate(e.b, s));
    case 'cmp': return compare(e.op, evaluate(e.a, s), evaluate(e.b, s));
    case 'range': {
      const from = Math.trunc(Number(evaluate(e.from, s))), to = Math.trunc(Number(evaluate(e.to, s)));
      if (!Number.isFinite(from) || !Number.isFinite(to) || to - from > 10_000) throw new Error('a liquid range is too long');
      const out: number[] = [];
      for (let i = from; i <= to; i++) out.push(i);
      return out;
    }
    case 'path': {
      let v: unknown = s.locals.has(e.root) ? s.locals.get(e.root) : e.root === 'body' ? s.body() : e.root === 'context' ? s.context : undefined;
      for (const step of e.steps) {
        if (v === undefined || v === null) return undefined;
        v = member(v, typeof step === 'string' ? step : evaluate(step, s));
      }
      return v;
    }
  }
}
