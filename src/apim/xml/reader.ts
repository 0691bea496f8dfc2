import { ApimLoadError, LineMap, type ApimErrorCode, type SourcePos } from '../errors.js';
import { substituteNamedValues } from './named-values.js';
import { decodeEntities, entityAt, scanExpression } from './expression-scan.js';
import type { XmlAttribute, XmlElement, XmlExpression } from './tree.js';

/**
 * The tolerant reader of policy documents. It accepts what the service's own tools export, which
 * is often not well-formed XML: raw `"`, `<` and `&&` inside expressions, raw `<` before a
 * non-name character and raw `&` in text and attributes. Everything else that is not XML (unclosed
 * or mismatched tags, a duplicated attribute, text outside the root, a DOCTYPE) is `xml-malformed`
 * at its position.
 */
export interface ReadOptions {
  /** Shown in positions. */
  file?: string;
  /** Named values for `{{name}}` references. */
  namedValues?: ReadonlyMap<string, string> | Record<string, string>;
  /** `error` (default): a reference to an undefined name is `undefined-named-value`; `keep`: left as written. */
  undefinedNamedValues?: 'error' | 'keep';
  /** Element nesting bound (default 64). */
  maxDepth?: number;
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const SPACE = /[ \t\r\n]*/y;

interface Piece { text?: string; expr?: XmlExpression; offset: number }

export function readXml(source: string, options: ReadOptions = {}): XmlElement {
  const file = options.file ?? '<policy>';
  const values = options.namedValues instanceof Map ? options.namedValues : new Map(Object.entries(options.namedValues ?? {}));
  const sub = substituteNamedValues(source, values as ReadonlyMap<string, string>);
  const lines = new LineMap(file, source);
  if (sub.undefined.length > 0 && options.undefinedNamedValues !== 'keep') {
    const u = sub.undefined[0]!;
    throw new ApimLoadError('undefined-named-value', `named value "${u.name}" is not defined`, lines.pos(u.offset));
  }
  return new Reader(sub.text, (o) => lines.pos(sub.toOriginal(o)), options.maxDepth ?? 64).document();
}

class Reader {
  private i = 0;
  constructor(private readonly s: string, private readonly at: (offset: number) => SourcePos, private readonly maxDepth: number) {}

  private fail(code: ApimErrorCode, message: string, offset: number): never {
    throw new ApimLoadError(code, message, this.at(offset));
  }

  /**
   * The root element. A snippet (policies meant to be pasted into a section, with no `<policies>`
   * or `<fragment>` around them) may have several top-level elements: they come back as the
   * children of a `#snippet` element.
   */
  document(): XmlElement {
    const roots: XmlElement[] = [];
    const s = this.s;
    while (this.i < s.length) {
      const lt = s.indexOf('<', this.i);
      const textEnd = lt < 0 ? s.length : lt;
      const stray = s.slice(this.i, textEnd).search(/\S/);
      if (stray >= 0) this.fail('xml-malformed', 'text outside the root element', this.i + stray);
      if (lt < 0) break;
      this.i = lt;
      if (this.skipMarkup()) continue;
      if (s[lt + 1] === '/') this.fail('xml-malformed', 'an end tag without a start tag', lt);
      roots.push(this.element());
    }
    if (roots.length === 0) this.fail('xml-malformed', 'the document has no root element', s.length);
    if (roots.length === 1) return roots[0]!;
    for (const r of roots) {
      if (r.name === 'policies' || r.name === 'fragment') this.fail('xml-malformed', 'more than one root element', this.offsetOf(roots[1]!));
    }
    return { kind: 'element', name: '#snippet', attributes: [], children: roots, pos: roots[0]!.pos };
  }

  /** Skips a comment, processing instruction or XML declaration at `i`; refuses a DOCTYPE. */
  private skipMarkup(): boolean {
    const s = this.s, i = this.i;
    if (s.startsWith('<!--', i)) {
      const e = s.indexOf('-->', i + 4);
      if (e < 0) this.fail('xml-malformed', 'the comment is not closed', i);
      this.i = e + 3;
      return true;
    }
    if (s.startsWith('<?', i)) {
      const e = s.indexOf('?>', i + 2);
      if (e < 0) this.fail('xml-malformed', 'the processing instruction is not closed', i);
      this.i = e + 2;
      return true;
    }
    if (s.startsWith('<!', i) && !s.startsWith('<![CDATA[', i)) this.fail('xml-malformed', 'a DOCTYPE or other declaration is not allowed', i);
    return false;
  }

  /** An element whose `<` is at `i`, with its content, iteratively (bounded depth). */
  private element(): XmlElement {
    const stack: XmlElement[] = [];
    const runs: Piece[][] = [];
    let top = this.startTag();
    const root = top.el;
    if (!top.open) return root;
    stack.push(top.el);
    runs.push([]);
    const s = this.s;
    while (stack.length > 0) {
      const el = stack[stack.length - 1]!;
      const run = runs[runs.length - 1]!;
      const lt = this.textRun(run);
      if (lt < 0) this.fail('xml-malformed', `element <${el.name}> is not closed`, this.offsetOf(el));
      this.i = lt;
      if (this.skipMarkup()) continue;
      if (s.startsWith('<![CDATA[', lt)) {
        const e = s.indexOf(']]>', lt + 9);
        if (e < 0) this.fail('xml-malformed', 'the CDATA section is not closed', lt);
        run.push({ text: s.slice(lt + 9, e), offset: lt + 9 });
        this.i = e + 3;
        continue;
      }
      this.flush(el, run);
      if (s[lt + 1] === '/') {
        this.endTag(el);
        stack.pop();
        runs.pop();
        if (el.children.some((c) => c.kind === 'element')) el.children = el.children.filter((c) => c.kind !== 'text' || c.value.trim() !== '');
        continue;
      }
      if (stack.length >= this.maxDepth) this.fail('xml-malformed', `elements are nested deeper than ${this.maxDepth} levels`, lt);
      top = this.startTag();
      el.children.push(top.el);
      if (top.open) { stack.push(top.el); runs.push([]); }
    }
    return root;
  }

  private readonly offsets = new WeakMap<XmlElement, number>();
  private offsetOf(el: XmlElement): number { return this.offsets.get(el) ?? 0; }

  /** Reads text and expressions up to the next markup `<`; returns its index (-1 at the end). */
  private textRun(run: Piece[]): number {
    const s = this.s;
    let i = this.i, from = i;
    while (i < s.length) {
      const c = s[i];
      if (c === '<' && /[A-Za-z_/!?]/.test(s[i + 1] ?? '')) break;
      if (c === '@' && (s[i + 1] === '(' || s[i + 1] === '{')) {
        if (i > from) run.push({ text: decodeEntities(s.slice(from, i)), offset: from });
        const expr = this.expression(i);
        run.push({ expr, offset: i });
        i = from = this.i;
        continue;
      }
      if (c === '&') this.checkEntity(i);
      i++;
    }
    if (i > from) run.push({ text: decodeEntities(s.slice(from, i)), offset: from });
    this.i = i;
    return i < s.length ? i : -1;
  }

  /** Turns a finished text run into a text node or an expression node; mixing both is an error. */
  private flush(el: XmlElement, run: Piece[]): void {
    if (run.length === 0) return;
    const exprs = run.filter((p) => p.expr);
    if (exprs.length > 0) {
      const literal = run.find((p) => p.text !== undefined && p.text.trim() !== '');
      if (literal || exprs.length > 1) {
        this.fail('mixed-expression', `the content of <${el.name}> mixes text with an expression; an expression must be the whole value`, exprs[0]!.offset);
      }
      el.children.push(exprs[0]!.expr!);
    } else {
      el.children.push({ kind: 'text', value: run.map((p) => p.text).join(''), pos: this.at(run[0]!.offset) });
    }
    run.length = 0;
  }

  private expression(at: number): XmlExpression {
    const r = scanExpression(this.s, at);
    if ('error' in r) this.fail('expression-syntax', r.error, r.offset);
    this.i = r.end;
    const { offsets } = r;
    const toPos = this.at;
    return {
      kind: 'expression',
      code: r.code,
      block: this.s[at + 1] === '{',
      pos: this.at(at),
      codePos: (o) => toPos(offsets[Math.max(0, Math.min(o, offsets.length - 1))]!),
    };
  }

  private startTag(): { el: XmlElement; open: boolean } {
    const s = this.s, lt = this.i;
    NAME.lastIndex = lt + 1;
    const m = NAME.exec(s);
    if (!m) this.fail('xml-malformed', 'a malformed start tag', lt);
    const el: XmlElement = { kind: 'element', name: m[0], attributes: [], children: [], pos: this.at(lt) };
    this.offsets.set(el, lt);
    this.i = NAME.lastIndex;
    for (;;) {
      const before = this.i;
      this.space();
      const c = s[this.i];
      if (c === '>') { this.i++; return { el, open: true }; }
      if (c === '/' && s[this.i + 1] === '>') { this.i += 2; return { el, open: false }; }
      if (c === undefined) this.fail('xml-malformed', `the start tag <${el.name}> is not closed`, lt);
      if (this.i === before) this.fail('xml-malformed', `expected whitespace, '>' or '/>' in <${el.name}>`, this.i);
      el.attributes.push(this.attribute(el));
    }
  }

  private attribute(el: XmlElement): XmlAttribute {
    const s = this.s, start = this.i;
    NAME.lastIndex = start;
    const m = NAME.exec(s);
    if (!m) this.fail('xml-malformed', `a malformed attribute in <${el.name}>`, start);
    if (el.attributes.some((a) => a.name === m[0])) this.fail('xml-malformed', `attribute "${m[0]}" appears twice`, start);
    this.i = NAME.lastIndex;
    this.space();
    if (s[this.i] !== '=') this.fail('xml-malformed', `attribute "${m[0]}" has no value`, this.i);
    this.i++;
    this.space();
    const quote = s[this.i];
    if (quote !== '"' && quote !== "'") this.fail('xml-malformed', `the value of attribute "${m[0]}" is not quoted`, this.i);
    const valueStart = ++this.i;
    return { name: m[0], value: this.attributeValue(m[0], quote), pos: this.at(start), valuePos: this.at(valueStart) };
  }

  /** A quoted value: literal text, or one expression with only whitespace around it. */
  private attributeValue(name: string, quote: string): string | XmlExpression {
    const s = this.s, start = this.i;
    this.space();
    if (s[this.i] === '@' && (s[this.i + 1] === '(' || s[this.i + 1] === '{')) {
      const expr = this.expression(this.i);
      this.space();
      if (s[this.i] !== quote) {
        const q = s.indexOf(quote, this.i);
        if (q < 0 || s.slice(this.i, q).includes('<')) this.fail('xml-malformed', `the value of attribute "${name}" is not closed`, this.i);
        this.fail('mixed-expression', `the value of attribute "${name}" mixes an expression with text; an expression must be the whole value`, this.i);
      }
      this.i++;
      return expr;
    }
    for (let i = start; ; i++) {
      const c = s[i];
      if (c === undefined) this.fail('xml-malformed', `the value of attribute "${name}" is not closed`, start - 1);
      if (c === quote) { this.i = i + 1; return decodeEntities(s.slice(start, i)); }
      if (c === '@' && (s[i + 1] === '(' || s[i + 1] === '{')) {
        this.fail('mixed-expression', `the value of attribute "${name}" mixes text with an expression; an expression must be the whole value`, i);
      }
      if (c === '&') this.checkEntity(i);
    }
  }

  private endTag(el: XmlElement): void {
    const s = this.s, lt = this.i;
    NAME.lastIndex = lt + 2;
    const m = NAME.exec(s);
    if (!m) this.fail('xml-malformed', 'a malformed end tag', lt);
    if (m[0] !== el.name) this.fail('xml-malformed', `the end tag </${m[0]}> does not match <${el.name}> (line ${el.pos.line})`, lt);
    this.i = NAME.lastIndex;
    this.space();
    if (s[this.i] !== '>') this.fail('xml-malformed', `the end tag </${m[0]}> is not closed`, lt);
    this.i++;
  }

  /** A raw `&` is tolerated; a reference to an entity XML does not define (`&nbsp;`) is not. */
  private checkEntity(i: number): void {
    if (!entityAt(this.s, i) && /^&[A-Za-z#][\w#]{0,30};/.test(this.s.slice(i, i + 34))) {
      this.fail('xml-malformed', 'a reference to an entity XML does not define', i);
    }
  }

  private space(): void {
    SPACE.lastIndex = this.i;
    SPACE.exec(this.s);
    this.i = SPACE.lastIndex;
  }
}
