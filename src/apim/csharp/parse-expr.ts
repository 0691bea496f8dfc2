import type { Arg, Block, Expr, Initializer, InterpolationPart, Pattern, TypeNode } from './ast.js';
import { syntaxError, unsupported } from './diagnostics.js';
import { lex, type Token } from './lexer.js';

const PREDEFINED = new Set(['bool', 'byte', 'char', 'decimal', 'double', 'float', 'int', 'long', 'object', 'string', 'void', 'short', 'sbyte', 'uint', 'ulong', 'ushort', 'dynamic']);
const ASSIGN = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '??=', '<<=']);
const BINARY: Array<string[]> = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], [], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
/** Tokens after `(T)` that make it a cast rather than a parenthesized expression. */
const CAST_FOLLOW = new Set(['ident', 'int', 'real', 'string', 'char', 'interp']);
const CAST_FOLLOW_KW = new Set(['new', 'true', 'false', 'null', 'default', 'typeof', 'this', 'base', 'checked', 'unchecked', ...PREDEFINED]);

/**
 * Expressions and types: a precedence-climbing parser over the lexer's tokens. Ambiguities of C#
 * (casts, generic calls, lambdas) are decided by looking ahead speculatively, as the C# grammar does.
 */
export abstract class ExprParser {
  protected i = 0;
  constructor(protected readonly src: string, protected readonly toks: Token[]) {}

  protected abstract block(): Block;

  protected get t(): Token { return this.toks[this.i]!; }
  protected peek(k = 1): Token { return this.toks[Math.min(this.i + k, this.toks.length - 1)]!; }
  protected is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === 'punct' || t.kind === 'keyword') && t.text === text;
  }
  protected isIdent(text?: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && (text === undefined || t.text === text);
  }
  protected eat(text: string): boolean {
    if (this.is(text)) { this.i++; return true; }
    return false;
  }
  protected expect(text: string): Token {
    if (!this.is(text)) throw syntaxError(`expected '${text}' but found ${this.describe(this.t)}`, this.t.start);
    return this.toks[this.i++]!;
  }
  protected ident(): Token {
    if (this.t.kind !== 'ident') throw syntaxError(`expected a name but found ${this.describe(this.t)}`, this.t.start);
    return this.toks[this.i++]!;
  }
  protected describe(t: Token): string {
    return t.kind === 'eof' ? 'the end of the expression' : `'${t.text.length > 20 ? `${t.text.slice(0, 20)}…` : t.text}'`;
  }
  protected get end(): number { return this.toks[this.i - 1]?.end ?? 0; }

  /** Runs `f` speculatively: on a syntax error, or when it returns undefined, rewinds. */
  protected attempt<R>(f: () => R | undefined): R | undefined {
    const save = this.i;
    try {
      const r = f();
      if (r === undefined) this.i = save;
      return r;
    } catch {
      this.i = save;
      return undefined;
    }
  }

  // ---- types ----

  protected type(nullableOk = true): TypeNode {
    const start = this.t.start;
    let name: string[];
    let args: TypeNode[] = [];
    if (this.t.kind === 'keyword' && PREDEFINED.has(this.t.text)) {
      const kw = this.toks[this.i++]!;
      if (['sbyte', 'uint', 'ulong', 'ushort', 'dynamic'].includes(kw.text)) throw unsupported(`the type '${kw.text}' is not supported`, kw.start);
      name = [kw.text];
    } else {
      name = [this.ident().text];
      while (this.is('.') && this.peek().kind === 'ident') { this.i++; name.push(this.ident().text); }
      if (this.is('<')) args = this.typeArgs();
    }
    const node: TypeNode = { kind: 'type', name, args, arrays: 0, nullable: false, start, end: this.end };
    if (this.is('?') && (nullableOk || [')', ']', ',', ';', '=>', '>', '{', '??'].includes(this.peek().text) || this.peek().kind === 'ident' || this.peek().kind === 'eof')) {
      this.i++;
      node.nullable = true;
    }
    while (this.is('[') && this.is(']', 1)) { this.i += 2; node.arrays++; }
    node.end = this.end;
    return node;
  }

  protected typeArgs(): TypeNode[] {
    this.expect('<');
    const args = [this.type()];
    while (this.eat(',')) args.push(this.type());
    this.expect('>');
    return args;
  }

  // ---- expressions ----

  expression(): Expr {
    const lambda = this.lambda();
    if (lambda) return lambda;
    const start = this.t.start;
    const left = this.conditional();
    const shiftAssign = this.is('>') && this.is('>=', 1) && this.peek().start === this.t.end;
    if ((this.t.kind === 'punct' && ASSIGN.has(this.t.text)) || shiftAssign) {
      const op = shiftAssign ? (this.i += 2, '>>=') : this.toks[this.i++]!.text;
      const value = this.expression();
      return { kind: 'assign', op, target: left, value, start, end: this.end };
    }
    return left;
  }

  private lambda(): Expr | undefined {
    const start = this.t.start;
    if (this.t.kind === 'ident' && this.is('=>', 1)) {
      const name = this.ident().text;
      this.i++;
      return { kind: 'lambda', params: [{ name }], body: this.lambdaBody(), start, end: this.end };
    }
    if (!this.is('(')) return undefined;
    const params = this.attempt(() => {
      this.expect('(');
      const ps: Array<{ name: string; type?: TypeNode }> = [];
      if (!this.is(')')) {
        do {
          if (this.t.kind === 'ident' && (this.is(',', 1) || this.is(')', 1))) ps.push({ name: this.ident().text });
          else { const type = this.type(); ps.push({ type, name: this.ident().text }); }
        } while (this.eat(','));
      }
      this.expect(')');
      return this.eat('=>') ? ps : undefined;
    });
    if (!params) return undefined;
    return { kind: 'lambda', params, body: this.lambdaBody(), start, end: this.end };
  }

  private lambdaBody(): Expr | Block {
    return this.is('{') ? this.block() : this.throwOr(() => this.expression());
  }

  private throwOr(f: () => Expr): Expr {
    if (this.is('throw')) {
      const start = this.t.start;
      this.i++;
      return { kind: 'throw', value: this.nullCoalescing(), start, end: this.end };
    }
    return f();
  }

  private conditional(): Expr {
    const start = this.t.start;
    const test = this.nullCoalescing();
    if (!this.is('?')) return test;
    this.i++;
    const then = this.throwOr(() => this.expression());
    this.expect(':');
    const otherwise = this.throwOr(() => this.expression());
    return { kind: 'conditional', test, then, otherwise, start, end: this.end };
  }

  private nullCoalescing(): Expr {
    const start = this.t.start;
    const left = this.binary(0);
    if (!this.is('??')) return left;
    this.i++;
    const right = this.throwOr(() => this.nullCoalescing());
    return { kind: 'binary', op: '??', left, right, start, end: this.end };
  }

  private binary(level: number): Expr {
    if (level === BINARY.length) return this.unary();
    if (level === 6) return this.relational();
    const start = this.t.start;
    let left = this.binary(level + 1);
    for (;;) {
      const op = this.binaryOp(level);
      if (!op) return left;
      const right = this.binary(level + 1);
      left = { kind: 'binary', op, left, right, start, end: this.end };
    }
  }

  /** The operator of `level` at the cursor (joining `> >` into a shift), consumed. */
  private binaryOp(level: number): string | undefined {
    const ops = BINARY[level]!;
    if (ops.includes('>>') && this.is('>') && this.is('>', 1) && this.peek().start === this.t.end) {
      this.i += 2;
      return '>>';
    }
    if (this.t.kind === 'punct' && ops.includes(this.t.text)) return this.toks[this.i++]!.text;
    return undefined;
  }

  private relational(): Expr {
    const start = this.t.start;
    let left = this.binary(7);
    for (;;) {
      if (this.is('is')) {
        this.i++;
        left = { kind: 'is', operand: left, pattern: this.pattern(), start, end: this.end };
      } else if (this.is('as')) {
        this.i++;
        left = { kind: 'as', operand: left, type: this.type(false), start, end: this.end };
      } else if (['<', '>', '<=', '>='].includes(this.t.text) && this.t.kind === 'punct' && !(this.is('>') && this.is('>', 1) && this.peek().start === this.t.end)) {
        const op = this.toks[this.i++]!.text;
        left = { kind: 'binary', op, left, right: this.binary(7), start, end: this.end };
      } else return left;
    }
  }

  private pattern(): Pattern {
    const start = this.t.start;
    if (this.isIdent('not')) {
      this.i++;
      return { kind: 'notPattern', pattern: this.pattern(), start, end: this.end };
    }
    if (this.is('null') || ['int', 'real', 'string', 'char'].includes(this.t.kind) || this.is('true') || this.is('false') || this.is('-')) {
      return { kind: 'constPattern', value: this.unary(), start, end: this.end };
    }
    if (this.isIdent('var') && this.peek().kind === 'ident') {
      this.i++;
      return { kind: 'varPattern', designation: this.ident().text, start, end: this.end };
    }
    const type = this.type(false);
    const designation = this.t.kind === 'ident' && !['and', 'or', 'when'].includes(this.t.text) ? this.ident().text : undefined;
    return { kind: 'typePattern', type, designation, start, end: this.end };
  }

  protected unary(): Expr {
    const start = this.t.start;
    const t = this.t;
    if (t.kind === 'punct' && ['-', '+', '!', '~', '++', '--'].includes(t.text)) {
      this.i++;
      const operand = this.unary();
      if ((t.text === '-') && operand.kind === 'literal' && (operand.type === 'int' || operand.type === 'long') && operand.start === t.end) {
        return this.negativeLiteral(operand, start);
      }
      return { kind: 'unary', op: t.text as '-', operand, postfix: false, start, end: this.end };
    }
    if (this.is('(')) {
      const cast = this.attempt(() => {
        this.i++;
        const type = this.type();
        if (!this.eat(')')) return undefined;
        const next = this.t;
        const predefined = type.name.length === 1 && PREDEFINED.has(type.name[0]!) && type.args.length === 0;
        const follows = CAST_FOLLOW.has(next.kind) || (next.kind === 'keyword' && CAST_FOLLOW_KW.has(next.text)) || ['(', '!', '~'].includes(next.text) ||
          (predefined && next.kind === 'punct' && ['-', '+', '++', '--'].includes(next.text));
        return follows ? type : undefined;
      });
      if (cast) return { kind: 'cast', type: cast, operand: this.unary(), start, end: this.end };
    }
    return this.postfix(this.primary());
  }

  /** `-2147483648` and `-9223372036854775808L` are literals, not negations of too-large numbers. */
  private negativeLiteral(lit: Expr & { kind: 'literal' }, start: number): Expr {
    const v = lit.value as number | bigint;
    if (typeof v === 'bigint' && v === 2147483648n && !/[lL]/.test(this.src.slice(lit.start, lit.end))) {
      return { kind: 'literal', type: 'int', value: -2147483648, start, end: lit.end };
    }
    return { kind: 'literal', type: lit.type, value: typeof v === 'bigint' ? -v : -v, start, end: lit.end };
  }

  protected args(close = ')'): Arg[] {
    const out: Arg[] = [];
    if (this.eat(close)) return out;
    do {
      const start = this.t.start;
      let name: string | undefined;
      if (this.t.kind === 'ident' && this.is(':', 1)) { name = this.ident().text; this.i++; }
      if (this.is('out') || this.is('ref')) {
        const mod = this.toks[this.i++]!.text as 'out' | 'ref';
        const decl = this.attempt(() => {
          const type = this.isIdent('var') ? (this.i++, undefined) : this.type();
          const id = this.ident();
          return { name: id.text, type, start: id.start };
        });
        const value: Expr = decl ? { kind: 'name', name: decl.name, start: decl.start, end: this.end } : this.unary();
        out.push({ value, mod, declare: decl && { name: decl.name, type: decl.type }, name, start, end: this.end });
      } else {
        out.push({ value: this.expression(), name, start, end: this.end });
      }
    } while (this.eat(','));
    this.expect(close);
    return out;
  }

  /** Type arguments of a generic method, when `<…>` is followed by `(`. */
  protected genericArgs(): TypeNode[] | undefined {
    if (!this.is('<')) return undefined;
    return this.attempt(() => {
      const args = this.typeArgs();
      return this.is('(') ? args : undefined;
    });
  }

  protected abstract postfix(e: Expr): Expr;
  protected abstract primary(): Expr;

  protected initializer(): Initializer {
    const start = this.expect('{').start;
    const items: Initializer['items'] = [];
    while (!this.is('}')) {
      if (this.is('{')) {
        this.i++;
        const values = [this.expression()];
        while (this.eat(',')) values.push(this.expression());
        this.expect('}');
        items.push({ kind: 'pair', values });
      } else if (this.is('[')) {
        this.i++;
        const index = [this.expression()];
        while (this.eat(',')) index.push(this.expression());
        this.expect(']');
        this.expect('=');
        items.push({ kind: 'indexed', index, value: this.expression() });
      } else if (this.t.kind === 'ident' && this.is('=', 1)) {
        const name = this.ident().text;
        this.i++;
        items.push({ kind: 'member', name, value: this.expression() });
      } else items.push({ kind: 'item', value: this.expression() });
      if (!this.eat(',')) break;
    }
    this.expect('}');
    return { items, start, end: this.end };
  }

  protected interpolated(tok: Token): Expr {
    const parts: InterpolationPart[] = (tok.parts ?? []).map((p) => {
      if (typeof p === 'string') return p;
      const sub = new (this.constructor as new (src: string, toks: Token[]) => ExprParser)(this.src, lex(this.src, p.start, p.end));
      const expr = sub.expression();
      if (sub.t.kind !== 'eof') throw syntaxError(`unexpected ${sub.describe(sub.t)} in an interpolation hole`, sub.t.start);
      return { expr, align: p.align, format: p.format };
    });
    return { kind: 'interpolated', parts, start: tok.start, end: tok.end };
  }
}
