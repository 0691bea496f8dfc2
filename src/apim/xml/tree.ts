import type { SourcePos } from '../errors.js';

/** A policy expression: `@(…)` (a single expression) or `@{…}` (a block of statements). */
export interface XmlExpression {
  kind: 'expression';
  /** The C# text between the brackets, entities decoded, as written (newlines, comments). */
  code: string;
  /** `true` for `@{…}`. */
  block: boolean;
  /** Where the `@` is. */
  pos: SourcePos;
  /** The document position of an offset in `code` (for errors inside the expression). */
  codePos(offset: number): SourcePos;
}

export interface XmlText {
  kind: 'text';
  value: string;
  pos: SourcePos;
}

export interface XmlAttribute {
  name: string;
  /** Literal text (entities decoded) or the expression that is the whole value. */
  value: string | XmlExpression;
  pos: SourcePos;
  valuePos: SourcePos;
}

export interface XmlElement {
  kind: 'element';
  name: string;
  attributes: XmlAttribute[];
  children: XmlNode[];
  pos: SourcePos;
}

export type XmlNode = XmlElement | XmlText | XmlExpression;

export function attribute(el: XmlElement, name: string): XmlAttribute | undefined {
  return el.attributes.find((a) => a.name === name);
}

export function childElements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => c.kind === 'element');
}

/** The element's content when it is text or one expression (child elements are ignored). */
export function content(el: XmlElement): string | XmlExpression | undefined {
  let text: string | undefined;
  for (const c of el.children) {
    if (c.kind === 'expression') return c;
    if (c.kind === 'text') text = (text ?? '') + c.value;
  }
  return text;
}

/** Every expression in the subtree, in document order. */
export function expressionsOf(node: XmlNode, out: XmlExpression[] = []): XmlExpression[] {
  if (node.kind === 'expression') out.push(node);
  else if (node.kind === 'element') {
    for (const a of node.attributes) if (typeof a.value !== 'string') out.push(a.value);
    for (const c of node.children) expressionsOf(c, out);
  }
  return out;
}
