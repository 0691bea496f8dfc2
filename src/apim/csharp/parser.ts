import type { Block, CatchClause, Expr, LocalDecl, Stmt, SwitchSection, TypeNode } from './ast.js';
import { syntaxError, unsupported } from './diagnostics.js';
import { lex } from './lexer.js';
import { ExprParser } from './parse-expr.js';

const PREDEFINED_KW = new Set(['bool', 'byte', 'short', 'char', 'decimal', 'double', 'float', 'int', 'long', 'object', 'string']);
const REFUSED_KW = new Set(['goto', 'lock', 'unsafe', 'fixed', 'stackalloc', 'sizeof', 'delegate', 'checked', 'class', 'struct', 'interface', 'enum', 'namespace', 'static', 'dynamic', 'base', 'this', 'yield']);

/** Parses `@(…)` text: one expression. */
export function parseExpression(src: string): Expr {
  const p = new Parser(src, lex(src));
  const e = p.expression();
  p.done();
  return e;
}

/** Parses `@{…}` text: statements. */
export function parseBlock(src: string): Block {
  const p = new Parser(src, lex(src));
  const body = p.statements();
  p.done();
  return { kind: 'block', body, start: 0, end: src.length };
}

class Parser extends ExprParser {
  done(): void {
    if (this.t.kind !== 'eof') throw syntaxError(`unexpected ${this.describe(this.t)}`, this.t.start);
  }

  // ---- primary and postfix ----

  protected primary(): Expr {
    const t = this.t;
    const start = t.start;
    switch (t.kind) {
      case 'int': this.i++; return { kind: 'literal', type: t.numType === 'long' ? 'long' : 'int', value: t.value, start, end: t.end };
      case 'real': this.i++; return { kind: 'literal', type: t.numType === 'decimal' ? 'decimal' : 'double', value: t.value, start, end: t.end };
      case 'string': this.i++; return { kind: 'literal', type: 'string', value: t.value, start, end: t.end };
      case 'char': this.i++; return { kind: 'literal', type: 'char', value: t.value, start, end: t.end };
      case 'interp': this.i++; return this.interpolated(t);
      case 'ident': {
        this.i++;
        if (t.text === 'nameof' && this.is('(')) {
          this.i++;
          let name = this.ident().text;
          while (this.eat('.')) name = this.ident().text;
          this.expect(')');
          return { kind: 'nameof', name, start, end: this.end };
        }
        return { kind: 'name', name: t.text, typeArgs: this.genericArgs(), start, end: t.end };
      }
      case 'keyword': return this.keywordPrimary();
      case 'punct':
        if (t.text === '(') {
          this.i++;
          const inner = this.expression();
          this.expect(')');
          return { kind: 'paren', inner, start, end: this.end };
        }
    }
    throw syntaxError(`expected an expression but found ${this.describe(t)}`, start);
  }

  private keywordPrimary(): Expr {
    const t = this.t;
    const start = t.start;
    if (t.text === 'true' || t.text === 'false') { this.i++; return { kind: 'literal', type: 'bool', value: t.text === 'true', start, end: t.end }; }
    if (t.text === 'null') { this.i++; return { kind: 'literal', type: 'null', value: null, start, end: t.end }; }
    if (PREDEFINED_KW.has(t.text)) return { kind: 'predefined', type: this.type(), start, end: this.end };
    if (t.text === 'new') return this.creation();
    if (t.text === 'unchecked' && this.is('(', 1)) {
      // arithmetic is unchecked already (C#'s default), so unchecked(x) is x
      this.i++;
      return this.paren();
    }
    if (t.text === 'default') {
      this.i++;
      if (!this.eat('(')) return { kind: 'default', start, end: this.end };
      const type = this.type();
      this.expect(')');
      return { kind: 'default', type, start, end: this.end };
    }
    if (t.text === 'typeof') {
      this.i++;
      this.expect('(');
      const type = this.type();
      this.expect(')');
      return { kind: 'typeof', type, start, end: this.end };
    }
    if (t.text === 'unchecked' && this.is('(', 1)) {
      this.i += 2;
      const inner = this.expression();
      this.expect(')');
      return { kind: 'paren', inner, start, end: this.end };
    }
    if (REFUSED_KW.has(t.text) || ['sbyte', 'uint', 'ulong', 'ushort'].includes(t.text)) throw unsupported(`'${t.text}' is not supported in policy expressions`, start);
    throw syntaxError(`expected an expression but found '${t.text}'`, start);
  }

  private creation(): Expr {
    const start = this.expect('new').start;
    if (this.is('{')) {
      this.i++;
      const fields: Array<{ name: string; value: Expr }> = [];
      while (!this.is('}')) {
        if (this.t.kind === 'ident' && this.is('=', 1)) {
          const name = this.ident().text;
          this.i++;
          fields.push({ name, value: this.expression() });
        } else {
          const value = this.expression();
          const name = value.kind === 'name' ? value.name : value.kind === 'member' ? value.name : undefined;
          if (!name) throw syntaxError('an anonymous type member needs a name (name = value)', value.start);
          fields.push({ name, value });
        }
        if (!this.eat(',')) break;
      }
      this.expect('}');
      return { kind: 'anonymous', fields, start, end: this.end };
    }
    if (this.is('[')) {
      this.i++;
      this.expect(']');
      const init = this.initializer();
      return { kind: 'newArray', items: init.items.map((it) => this.itemValue(it)), start, end: this.end };
    }
    const type = this.type();
    if (this.is('[')) return this.arrayCreation(type, start);
    if (type.arrays > 0) {
      const init = this.initializer();
      return { kind: 'newArray', elem: { ...type, arrays: type.arrays - 1 }, items: init.items.map((it) => this.itemValue(it)), start, end: this.end };
    }
    const args = this.eat('(') ? this.args() : [];
    const init = this.is('{') ? this.initializer() : undefined;
    return { kind: 'new', type, args, init, start, end: this.end };
  }

  private itemValue(it: { kind: string; value?: Expr }): Expr {
    if (it.kind !== 'item' || !it.value) throw syntaxError('an array initializer lists values', this.t.start);
    return it.value;
  }

  private arrayCreation(elem: TypeNode, start: number): Expr {
    this.expect('[');
    const size = this.expression();
    this.expect(']');
    const node: Expr = { kind: 'newArray', elem, size, start, end: this.end };
    if (this.is('{')) node.items = this.initializer().items.map((it) => this.itemValue(it));
    node.end = this.end;
    return node;
  }

  protected postfix(e: Expr): Expr {
    for (;;) {
      const start = e.start;
      if (this.is('.') || this.is('?.')) {
        const conditional = this.toks[this.i++]!.text === '?.';
        const name = this.ident();
        e = { kind: 'member', target: e, name: name.text, typeArgs: this.genericArgs(), conditional, nameStart: name.start, start, end: this.end };
      } else if (this.is('(')) {
        this.i++;
        e = { kind: 'call', callee: e, args: this.args(), start, end: this.end };
      } else if (this.is('[') || (this.is('?') && this.is('[', 1) && this.peek().start === this.t.end)) {
        const conditional = this.is('?');
        this.i += conditional ? 2 : 1;
        const args = [this.expression()];
        while (this.eat(',')) args.push(this.expression());
        this.expect(']');
        e = { kind: 'index', target: e, args, conditional, start, end: this.end };
      } else if (this.is('++') || this.is('--')) {
        const op = this.toks[this.i++]!.text as '++';
        e = { kind: 'unary', op, operand: e, postfix: true, start, end: this.end };
      } else if (this.is('!') && (this.is('.', 1) || this.is(')', 1) || this.is(';', 1)) && this.peek().start === this.t.end) {
        this.i++; // null-forgiving: no run-time effect
      } else return e;
    }
  }

  // ---- statements ----

  statements(): Stmt[] {
    const out: Stmt[] = [];
    while (this.t.kind !== 'eof' && !this.is('}')) out.push(this.statement());
    return out;
  }

  protected block(): Block {
    const start = this.expect('{').start;
    const body = this.statements();
    this.expect('}');
    return { kind: 'block', body, start, end: this.end };
  }

  private statement(): Stmt {
    const t = this.t;
    const start = t.start;
    if (this.is('{')) return this.block();
    if (this.eat(';')) return { kind: 'empty', start, end: this.end };
    if (t.kind === 'keyword') {
      const s = this.keywordStatement();
      if (s) return s;
    }
    const decl = this.declaration();
    if (decl) return decl;
    const expr = this.expression();
    this.expect(';');
    return { kind: 'expr', expr, start, end: this.end };
  }

  private keywordStatement(): Stmt | undefined {
    const start = this.t.start;
    switch (this.t.text) {
      case 'if': {
        this.i++;
        const test = this.paren();
        const then = this.statement();
        const otherwise = this.eat('else') ? this.statement() : undefined;
        return { kind: 'if', test, then, otherwise, start, end: this.end };
      }
      case 'while': { this.i++; const test = this.paren(); return { kind: 'while', test, body: this.statement(), start, end: this.end }; }
      case 'do': {
        this.i++;
        const body = this.statement();
        this.expect('while');
        const test = this.paren();
        this.expect(';');
        return { kind: 'do', body, test, start, end: this.end };
      }
      case 'for': return this.forStatement();
      case 'foreach': {
        this.i++;
        this.expect('(');
        const type = this.isIdent('var') ? (this.i++, undefined) : this.type();
        const name = this.ident().text;
        this.expect('in');
        const source = this.expression();
        this.expect(')');
        return { kind: 'foreach', type, name, source, body: this.statement(), start, end: this.end };
      }
      case 'return': {
        this.i++;
        const value = this.is(';') ? undefined : this.expression();
        this.expect(';');
        return { kind: 'return', value, start, end: this.end };
      }
      case 'break': case 'continue': {
        const kind = this.t.text as 'break';
        this.i++;
        this.expect(';');
        return { kind, start, end: this.end };
      }
      case 'throw': {
        this.i++;
        const value = this.is(';') ? undefined : this.expression();
        this.expect(';');
        return { kind: 'throw', value, start, end: this.end };
      }
      case 'unchecked': if (this.is('{', 1)) { this.i++; return this.block(); } break;
      case 'try': return this.tryStatement();
      case 'using': return this.usingStatement();
      case 'switch': return this.switchStatement();
      case 'const': this.i++; return this.declaration() ?? (() => { throw syntaxError('expected a constant declaration', start); })();
    }
    return undefined;
  }

  private paren(): Expr {
    this.expect('(');
    const e = this.expression();
    this.expect(')');
    return e;
  }

  private forStatement(): Stmt {
    const start = this.expect('for').start;
    this.expect('(');
    const init: Stmt[] = [];
    if (!this.is(';')) {
      const decl = this.declaration(false);
      if (decl) init.push(decl);
      else {
        do { const e = this.expression(); init.push({ kind: 'expr', expr: e, start: e.start, end: e.end }); } while (this.eat(','));
      }
    }
    this.expect(';');
    const test = this.is(';') ? undefined : this.expression();
    this.expect(';');
    const update: Expr[] = [];
    if (!this.is(')')) do update.push(this.expression()); while (this.eat(','));
    this.expect(')');
    return { kind: 'for', init, test, update, body: this.statement(), start, end: this.end };
  }

  private tryStatement(): Stmt {
    const start = this.expect('try').start;
    const block = this.block();
    const catches: CatchClause[] = [];
    while (this.is('catch')) {
      const cs = this.toks[this.i++]!.start;
      let type: TypeNode | undefined, name: string | undefined, filter: Expr | undefined;
      if (this.eat('(')) {
        type = this.type();
        if (this.t.kind === 'ident') name = this.ident().text;
        this.expect(')');
      }
      if (this.isIdent('when')) { this.i++; filter = this.paren(); }
      catches.push({ type, name, filter, body: this.block(), start: cs, end: this.end });
    }
    const fin = this.eat('finally') ? this.block() : undefined;
    if (catches.length === 0 && !fin) throw syntaxError("'try' needs a 'catch' or a 'finally'", this.t.start);
    return { kind: 'try', block, catches, finally: fin, start, end: this.end };
  }

  private usingStatement(): Stmt {
    const start = this.expect('using').start;
    if (this.eat('(')) {
      const d = this.declaration(false);
      if (d && d.kind !== 'local') throw syntaxError("expected a declaration or an expression in 'using'", start);
      const resource = d ?? this.expression();
      this.expect(')');
      return { kind: 'using', resource, body: this.statement(), start, end: this.end };
    }
    const decl = this.declaration();
    if (!decl || decl.kind !== 'local') throw syntaxError("expected a declaration after 'using'", start);
    return { kind: 'using', resource: decl, start, end: this.end };
  }

  private switchStatement(): Stmt {
    const start = this.expect('switch').start;
    const subject = this.paren();
    this.expect('{');
    const sections: SwitchSection[] = [];
    while (!this.is('}')) {
      const ss = this.t.start;
      const labels: SwitchSection['labels'] = [];
      while (this.is('case') || this.is('default')) {
        if (this.eat('default')) labels.push('default');
        else { this.i++; labels.push(this.expression()); }
        this.expect(':');
      }
      if (labels.length === 0) throw syntaxError("expected 'case' or 'default'", this.t.start);
      const body: Stmt[] = [];
      while (!this.is('case') && !this.is('default') && !this.is('}')) body.push(this.statement());
      sections.push({ labels, body, start: ss, end: this.end });
    }
    this.expect('}');
    return { kind: 'switch', subject, sections, start, end: this.end };
  }

  /** A local variable declaration or a local function, when the tokens make one. */
  private declaration(semicolon = true): LocalDecl | Stmt | undefined {
    const start = this.t.start;
    const head = this.attempt(() => {
      const type = this.isIdent('var') && this.peek().kind === 'ident' ? (this.i++, undefined) : this.type();
      if (this.t.kind !== 'ident') return undefined;
      const next = this.peek();
      if (!['=', ';', ',', '(', ')'].includes(next.text) && !(next.text === 'in')) return undefined;
      return { type };
    });
    if (!head) return undefined;
    if (head.type && this.is('(', 1)) return this.localFunction(head.type, start);
    const decl: LocalDecl = { kind: 'local', type: head.type, decls: [], start, end: start };
    do {
      const id = this.ident();
      decl.decls.push({ name: id.text, init: this.eat('=') ? this.expression() : undefined, start: id.start });
    } while (this.eat(','));
    if (semicolon) this.expect(';');
    decl.end = this.end;
    return decl;
  }

  private localFunction(returnType: TypeNode, start: number): Stmt {
    const name = this.ident().text;
    this.expect('(');
    const params: Array<{ name: string; type: TypeNode }> = [];
    if (!this.is(')')) {
      do { const type = this.type(); params.push({ type, name: this.ident().text }); } while (this.eat(','));
    }
    this.expect(')');
    let body: Block | Expr;
    if (this.eat('=>')) { body = this.expression(); this.expect(';'); } else body = this.block();
    return { kind: 'localFunction', name, returnType, params, body, start, end: this.end };
  }
}
