import { ApimLoadError, type SourcePos } from '../../apim/index.js';
import type { ExchangeContext } from './context.js';
import { FILTERS, truthy, type Filter } from './liquid-values.js';
import { evaluate, parseExpression, parseFilters, type Expr, type Scope } from './liquid-expr.js';

/**
 * set-body's liquid templates (the DotLiquid dialect of the service): `{{ value | filter: arg }}`
 * holes and the tags `if`/`elsif`/`else`/`unless`, `for … in …` (`limit:`, `offset:`, `reversed`,
 * `forloop`, `else`, `break`, `continue`), `case`/`when`, `assign`, `capture`, `comment` and `raw`,
 * with `{{-`/`-}}` whitespace control. Values are read under `body` (the JSON body) and `context`
 * (the object model: capitalized members and map keys only, nothing else of the gateway is
 * reachable). A render is bounded in steps and output, so a template cannot hang the gateway.
 */

type Node =
  | string
  | { k: 'out'; expr: Expr; filters: Filter[] }
  | { k: 'if'; branches: Array<{ cond: Expr | null; body: Node[] }> }
  | { k: 'for'; name: string; coll: Expr; limit?: Expr; offset?: Expr; reversed: boolean; body: Node[]; empty: Node[] }
  | { k: 'case'; subject: Expr; whens: Array<{ values: Expr[] | null; body: Node[] }> }
  | { k: 'assign'; name: string; expr: Expr; filters: Filter[] }
  | { k: 'capture'; name: string; body: Node[] }
  | { k: 'break' | 'continue' };

type Token = { text: string } | { tag: string } | { out: string };

const TOKENS = /\{\{(-?)([\s\S]*?)(-?)\}\}|\{%(-?)([\s\S]*?)(-?)%\}/g;
const MAX_STEPS = 100_000;
const MAX_OUTPUT = 8 << 20;

function tokenize(src: string, pos: SourcePos): Token[] {
  const out: Token[] = [];
  let last = 0, trimNext = false;
  const text = (s: string, trimEnd: boolean) => {
    let t = trimNext ? s.replace(/^\s+/, '') : s;
    if (trimEnd) t = t.replace(/\s+$/, '');
    if (t !== '') out.push({ text: t });
  };
  for (let m = TOKENS.exec(src); m; m = TOKENS.exec(src)) {
    const isTag = m[5] !== undefined;
    text(src.slice(last, m.index), (isTag ? m[4] : m[1]) === '-');
    trimNext = (isTag ? m[6] : m[3]) === '-';
    last = m.index + m[0].length;
    if (!isTag) { out.push({ out: m[2]!.trim() }); continue; }
    const tag = m[5]!.trim();
    const word = /^\w+/.exec(tag)?.[0];
    if (word === 'raw' || word === 'comment') {
      const end = new RegExp(`\\{%-?\\s*end${word}\\s*-?%\\}`, 'g');
      end.lastIndex = last;
      const e = end.exec(src);
      if (!e) throw new ApimLoadError('unsupported-attribute', `liquid: {% ${word} %} has no {% end${word} %}`, pos);
      if (word === 'raw') out.push({ text: src.slice(last, e.index) });
      last = e.index + e[0].length;
      TOKENS.lastIndex = last;
      trimNext = e[0].includes('-%}');
      continue;
    }
    out.push({ tag });
  }
  TOKENS.lastIndex = 0;
  text(src.slice(last), false);
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[], private readonly pos: SourcePos) {}
  fail(msg: string): never { throw new ApimLoadError('unsupported-attribute', `liquid: ${msg}`, this.pos); }

  /** Nodes up to one of the `stops` tags (returned with the tag), or to the end when none. */
  block(stops: readonly string[]): { nodes: Node[]; stop?: string; rest: string } {
    const nodes: Node[] = [];
    while (this.i < this.tokens.length) {
      const t = this.tokens[this.i++]!;
      if ('text' in t) { nodes.push(t.text); continue; }
      if ('out' in t) {
        const [e, filters] = this.split(t.out);
        nodes.push({ k: 'out', expr: e, filters });
        continue;
      }
      const word = /^\w+/.exec(t.tag)?.[0] ?? '';
      const rest = t.tag.slice(word.length).trim();
      if (stops.includes(word)) return { nodes, stop: word, rest };
      nodes.push(this.tag(word, rest));
    }
    if (stops.length > 0) this.fail(`{% ${stops[stops.length - 1]} %} is missing`);
    return { nodes, rest: '' };
  }

  private split(src: string): [Expr, Filter[]] {
    const bar = topLevelBar(src);
    const expr = parseExpression(bar < 0 ? src : src.slice(0, bar), (m) => this.fail(m));
    return [expr, bar < 0 ? [] : parseFilters(src.slice(bar + 1), (m) => this.fail(m))];
  }

  private tag(word: string, rest: string): Node {
    const expr = (s: string) => parseExpression(s, (m) => this.fail(m));
    switch (word) {
      case 'if': case 'unless': {
        const branches: Array<{ cond: Expr | null; body: Node[] }> = [];
        let cond: Expr | null = word === 'if' ? expr(rest) : { k: 'not', e: expr(rest) };
        for (;;) {
          const b = this.block(['elsif', 'else', `end${word}`]);
          branches.push({ cond, body: b.nodes });
          if (b.stop === `end${word}`) return { k: 'if', branches };
          cond = b.stop === 'elsif' ? expr(b.rest) : null;
          if (b.stop === 'else') { branches.push({ cond: null, body: this.block([`end${word}`]).nodes }); return { k: 'if', branches }; }
        }
      }
      case 'for': {
        const m = /^([A-Za-z_][\w-]*)\s+in\s+(\([^)]*\)|\S+)\s*(.*)$/.exec(rest);
        if (!m) this.fail(`{% for ${rest} %} is not "for item in collection"`);
        const node: Extract<Node, { k: 'for' }> = { k: 'for', name: m[1]!, coll: expr(m[2]!), reversed: false, body: [], empty: [] };
        for (const p of m[3]!.split(/\s+/).filter((x) => x !== '')) {
          const kv = /^(limit|offset):(.+)$/.exec(p);
          if (p === 'reversed') node.reversed = true;
          else if (kv) node[kv[1] as 'limit' | 'offset'] = expr(kv[2]!);
          else this.fail(`for does not take "${p}"`);
        }
        const b = this.block(['else', 'endfor']);
        node.body = b.nodes;
        if (b.stop === 'else') node.empty = this.block(['endfor']).nodes;
        return node;
      }
      case 'case': {
        const node: Extract<Node, { k: 'case' }> = { k: 'case', subject: expr(rest), whens: [] };
        let b = this.block(['when', 'else', 'endcase']);
        while (b.stop !== 'endcase') {
          const values = b.stop === 'when' ? b.rest.split(/\s*(?:,|\bor\b)\s*/).map(expr) : null;
          b = this.block(values ? ['when', 'else', 'endcase'] : ['endcase']);
          node.whens.push({ values, body: b.nodes });
        }
        return node;
      }
      case 'assign': {
        const m = /^([A-Za-z_][\w-]*)\s*=\s*([\s\S]+)$/.exec(rest);
        if (!m) this.fail(`{% assign ${rest} %} is not "assign name = value"`);
        const [e, filters] = this.split(m[2]!);
        return { k: 'assign', name: m[1]!, expr: e, filters };
      }
      case 'capture': {
        if (!/^[A-Za-z_][\w-]*$/.test(rest)) this.fail(`{% capture ${rest} %} needs a variable name`);
        return { k: 'capture', name: rest, body: this.block(['endcapture']).nodes };
      }
      case 'break': case 'continue': return { k: word };
      default: return this.fail(`the tag {% ${word} %} is not supported`);
    }
  }
}

function topLevelBar(s: string): number {
  let q = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) { if (c === q) q = ''; } else if (c === '"' || c === "'") q = c; else if (c === '|') return i;
  }
  return -1;
}

class Stop { constructor(readonly kind: 'break' | 'continue') {} }

class Renderer {
  steps = 0;
  out = '';
  constructor(private readonly scope: Scope) {}
  step(n = 1): void {
    this.steps += n;
    if (this.steps > MAX_STEPS) throw new Error('the liquid template ran too long');
    if (this.out.length > MAX_OUTPUT) throw new Error('the liquid template wrote too much');
  }
  value(e: Expr, filters: readonly Filter[]): unknown {
    let v = evaluate(e, this.scope);
    for (const f of filters) v = FILTERS[f.name]!(v, f.args.map((a) => evaluate(a, this.scope)));
    return v;
  }
  render(nodes: readonly Node[]): void {
    for (const n of nodes) {
      this.step();
      if (typeof n === 'string') { this.out += n; continue; }
      switch (n.k) {
        case 'out': this.out += FILTERS.tostring!(this.value(n.expr, n.filters), []) as string; break;
        case 'assign': this.scope.locals.set(n.name, this.value(n.expr, n.filters)); break;
        case 'capture': {
          const saved = this.out;
          this.out = '';
          try { this.render(n.body); } finally { this.scope.locals.set(n.name, this.out); this.out = saved; }
          break;
        }
        case 'if': {
          const b = n.branches.find((x) => x.cond === null || truthy(evaluate(x.cond, this.scope)));
          if (b) this.render(b.body);
          break;
        }
        case 'case': {
          const subject = evaluate(n.subject, this.scope);
          const eq = FILTERS.equals!;
          const w = n.whens.find((x) => x.values === null || x.values.some((v) => eq(subject, [evaluate(v, this.scope)])));
          if (w) this.render(w.body);
          break;
        }
        case 'for': this.loop(n); break;
        default: throw new Stop(n.k);
      }
    }
  }
  private loop(n: Extract<Node, { k: 'for' }>): void {
    let items = FILTERS.items!(evaluate(n.coll, this.scope), []) as unknown[];
    const num = (e: Expr | undefined) => (e ? Number(evaluate(e, this.scope)) || 0 : undefined);
    const offset = num(n.offset) ?? 0, limit = num(n.limit);
    items = items.slice(offset, limit === undefined ? undefined : offset + limit);
    if (n.reversed) items.reverse();
    if (items.length === 0) { this.render(n.empty); return; }
    const saved = [this.scope.locals.get(n.name), this.scope.locals.get('forloop')];
    try {
      for (let i = 0; i < items.length; i++) {
        this.step();
        this.scope.locals.set(n.name, items[i]);
        this.scope.locals.set('forloop', { index: i + 1, index0: i, rindex: items.length - i, rindex0: items.length - i - 1, first: i === 0, last: i === items.length - 1, length: items.length });
        try { this.render(n.body); } catch (e) {
          if (!(e instanceof Stop)) throw e;
          if (e.kind === 'break') break;
        }
      }
    } finally {
      this.scope.locals.set(n.name, saved[0]);
      this.scope.locals.set('forloop', saved[1]);
    }
  }
}

export function compileLiquid(src: string, pos: SourcePos): (c: ExchangeContext, body: () => unknown) => string {
  const nodes = new Parser(tokenize(src, pos), pos).block([]).nodes;
  return (c, body) => {
    let parsed: { v: unknown } | undefined;
    const r = new Renderer({ locals: new Map(), context: c, body: () => (parsed ??= { v: body() }).v });
    try { r.render(nodes); } catch (e) { if (!(e instanceof Stop)) throw e; }
    return r.out;
  };
}
