import { DOMParser } from '@xmldom/xmldom';
import { charge, ticks } from '../runtime/budget.js';
import { fail } from '../runtime/exceptions.js';
import type { CsValue } from '../runtime/values.js';
import { addMembers, defineType } from '../types.js';

/**
 * The read side of LINQ to XML: `XDocument.Parse`, `XElement.Parse`, `Root`, `Elements`,
 * `Descendants`, `Element`, `Attribute`, `Name` (`LocalName`, `NamespaceName`) and `Value`. Names
 * are matched as XName does: `"{ns}local"`, or a local name in no namespace. A DOCTYPE is refused
 * (no entity expansion). Documents are read-only: nothing here changes them.
 */

type Dom = ReturnType<DOMParser['parseFromString']>;
type DomNode = NonNullable<Dom['documentElement']>;

const NS = 'System.Xml.Linq';

export class XNameValue implements CsValue {
  readonly csType = 'System.Xml.Linq.XName';
  constructor(readonly local: string, readonly ns: string) {}
  csString(): string { return this.ns ? `{${this.ns}}${this.local}` : this.local; }
}

export class XAttributeValue implements CsValue {
  readonly csType = 'System.Xml.Linq.XAttribute';
  constructor(readonly name: XNameValue, readonly value: string) {}
  csString(): string { return `${this.name.csString()}="${this.value}"`; }
}

export class XElementValue implements CsValue {
  readonly csType = 'System.Xml.Linq.XElement';
  constructor(readonly node: DomNode) {}
  get name(): XNameValue { return new XNameValue(this.node.localName ?? this.node.nodeName, this.node.namespaceURI ?? ''); }
  get value(): string { return this.node.textContent ?? ''; }
  children(): XElementValue[] {
    const out: XElementValue[] = [];
    for (let c = this.node.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) out.push(new XElementValue(c as DomNode));
    ticks(out.length);
    return out;
  }
  descendants(): XElementValue[] {
    const out: XElementValue[] = [];
    const walk = (e: XElementValue) => { for (const c of e.children()) { out.push(c); walk(c); } };
    walk(this);
    return out;
  }
  csString(): string { return this.node.toString(); }
}

export class XDocumentValue implements CsValue {
  readonly csType = 'System.Xml.Linq.XDocument';
  constructor(readonly root: XElementValue) {}
  csString(): string { return this.root.csString(); }
}

function parse(text: string | null): XElementValue {
  if (text === null) return fail('ArgumentNullException', "Value cannot be null. (Parameter 'text')");
  charge(text.length);
  if (/<!DOCTYPE/i.test(text)) return fail('XmlException', 'DTD is prohibited in this XML document.');
  let error: string | undefined;
  const doc = new DOMParser({ errorHandler: { warning: (m: string) => { error ??= m; }, error: (m: string) => { error ??= m; }, fatalError: (m: string) => { error ??= m; } } }).parseFromString(text, 'text/xml');
  const root = doc.documentElement;
  if (error !== undefined || !root) return fail('XmlException', `The XML is not well-formed: ${error ?? 'no root element'}`);
  return new XElementValue(root);
}

const matches = (name: string | XNameValue) => {
  const n = typeof name === 'string' ? (/^\{([^}]*)\}(.*)$/.exec(name) ?? [name, '', name]) : [name.csString(), name.ns, name.local];
  return (e: XElementValue) => e.name.local === n[2] && e.name.ns === n[1];
};
const descendants = (d: XDocumentValue | XElementValue) => (d instanceof XDocumentValue ? [d.root, ...d.root.descendants()] : d.descendants());
const elements = (d: XDocumentValue | XElementValue) => (d instanceof XDocumentValue ? [d.root] : d.children());

const XNAME = defineType({ name: 'XName', ns: NS, is: (v) => v instanceof XNameValue });
addMembers(XNAME, [
  ['LocalName: string', (n: XNameValue) => n.local],
  ['NamespaceName: string', (n: XNameValue) => n.ns],
  ['ToString(): string', (n: XNameValue) => n.csString()],
]);

const XATTRIBUTE = defineType({ name: 'XAttribute', ns: NS, is: (v) => v instanceof XAttributeValue });
addMembers(XATTRIBUTE, [
  ['Name: XName', (a: XAttributeValue) => a.name],
  ['Value: string', (a: XAttributeValue) => a.value],
]);

const CONTAINER = (name: string) => [
  ['Descendants(): IEnumerable<XElement>', descendants],
  ['Descendants(string): IEnumerable<XElement>', (d: XDocumentValue | XElementValue, n: string) => descendants(d).filter(matches(n))],
  ['Elements(): IEnumerable<XElement>', elements],
  ['Elements(string): IEnumerable<XElement>', (d: XDocumentValue | XElementValue, n: string) => elements(d).filter(matches(n))],
  ['Element(string): XElement', (d: XDocumentValue | XElementValue, n: string) => elements(d).find(matches(n)) ?? null],
  ['ToString(): string', (d: CsValue) => d.csString()],
  [`static Parse(string): ${name}`, name === 'XDocument' ? (t: string | null) => new XDocumentValue(parse(t)) : parse],
] as const;

export const XELEMENT = defineType({ name: 'XElement', ns: NS, is: (v) => v instanceof XElementValue });
addMembers(XELEMENT, [
  ...CONTAINER('XElement'),
  ['Name: XName', (e: XElementValue) => e.name],
  ['Value: string', (e: XElementValue) => e.value],
  ['HasElements: bool', (e: XElementValue) => e.children().length > 0],
  ['Parent: XElement', (e: XElementValue) => (e.node.parentNode?.nodeType === 1 ? new XElementValue(e.node.parentNode as DomNode) : null)],
  ['Attribute(string): XAttribute', (e: XElementValue, n: string) => {
    const m = /^\{([^}]*)\}(.*)$/.exec(n);
    const a = m ? e.node.getAttributeNodeNS(m[1]!, m[2]!) : e.node.getAttributeNode(n);
    return a ? new XAttributeValue(new XNameValue(a.localName ?? a.name, a.namespaceURI ?? ''), a.value) : null;
  }],
]);

export const XDOCUMENT = defineType({ name: 'XDocument', ns: NS, is: (v) => v instanceof XDocumentValue });
addMembers(XDOCUMENT, [
  ...CONTAINER('XDocument'),
  ['Root: XElement', (d: XDocumentValue) => d.root],
]);
