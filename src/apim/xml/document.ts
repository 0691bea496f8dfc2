import { ApimLoadError } from '../errors.js';
import { readXml, type ReadOptions } from './reader.js';
import { childElements, expressionsOf, type XmlElement, type XmlExpression } from './tree.js';

/**
 * The two kinds of policy document: `<policies>` with up to four sections, and `<fragment>`,
 * which `include-fragment` pulls in. `<base/>` marks where the outer scope's policies run; it may
 * appear once, directly in a section, and never in a fragment.
 */
export const SECTIONS = ['inbound', 'backend', 'outbound', 'on-error'] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface PolicySection {
  name: SectionName;
  element: XmlElement;
  /** The policy elements in order, `<base/>` excluded. */
  policies: XmlElement[];
  /** Where `<base/>` was: the index in `policies` of the first policy after it; -1 when omitted. */
  baseIndex: number;
  base?: XmlElement;
}

export interface PoliciesDocument {
  kind: 'policies';
  root: XmlElement;
  sections: Partial<Record<SectionName, PolicySection>>;
  /** Every expression of the document, in document order. */
  expressions: XmlExpression[];
}

export interface FragmentDocument {
  kind: 'fragment';
  root: XmlElement;
  policies: XmlElement[];
  expressions: XmlExpression[];
  /** A snippet: policy elements with no `<fragment>` root, read as a fragment. */
  snippet?: boolean;
}

export type PolicyDocument = PoliciesDocument | FragmentDocument;

export function readPolicyDocument(source: string, options: ReadOptions = {}): PolicyDocument {
  const root = readXml(source, options);
  if (root.name === 'policies') return policies(root);
  if (root.name === 'fragment') return fragment(root);
  return snippet(root);
}

/**
 * A snippet, as the service's samples publish them ("copy this into the inbound section"): one or
 * more policy elements with no `<policies>` or `<fragment>` around them. It is read as a fragment.
 */
function snippet(root: XmlElement): FragmentDocument {
  const list = root.name === '#snippet' ? childElements(root) : [root];
  for (const p of list) {
    if ((SECTIONS as readonly string[]).includes(p.name)) {
      throw new ApimLoadError('xml-malformed', `the section <${p.name}> must be inside <policies>`, p.pos);
    }
    noNestedBase(p, true);
  }
  return { kind: 'fragment', root, policies: list, expressions: expressionsOf(root), snippet: true };
}

function policies(root: XmlElement): PoliciesDocument {
  noAttributes(root);
  onlyElements(root);
  const sections: PoliciesDocument['sections'] = {};
  for (const el of childElements(root)) {
    if (!(SECTIONS as readonly string[]).includes(el.name)) {
      throw new ApimLoadError('unsupported-policy', `<${el.name}> is not a section of <policies> (inbound, backend, outbound, on-error)`, el.pos);
    }
    const name = el.name as SectionName;
    if (sections[name]) throw new ApimLoadError('xml-malformed', `the section <${name}> appears twice`, el.pos);
    sections[name] = section(name, el);
  }
  return { kind: 'policies', root, sections, expressions: expressionsOf(root) };
}

function section(name: SectionName, el: XmlElement): PolicySection {
  noAttributes(el);
  onlyElements(el);
  const s: PolicySection = { name, element: el, policies: [], baseIndex: -1 };
  for (const p of childElements(el)) {
    if (p.name === 'base') {
      if (s.base) throw new ApimLoadError('misplaced-policy', `<base/> appears twice in <${name}>`, p.pos);
      noAttributes(p);
      if (p.children.length > 0) throw new ApimLoadError('xml-malformed', '<base/> has no content', p.pos);
      s.base = p;
      s.baseIndex = s.policies.length;
    } else {
      noNestedBase(p);
      s.policies.push(p);
    }
  }
  return s;
}

function fragment(root: XmlElement): FragmentDocument {
  noAttributes(root);
  onlyElements(root);
  const list = childElements(root);
  for (const p of list) noNestedBase(p, true);
  return { kind: 'fragment', root, policies: list, expressions: expressionsOf(root) };
}

function noNestedBase(el: XmlElement, inFragment = false): void {
  if (el.name === 'base') {
    const where = inFragment ? 'in a fragment' : 'inside another policy';
    throw new ApimLoadError('misplaced-policy', `<base/> cannot appear ${where}; it belongs directly in a section`, el.pos);
  }
  for (const c of childElements(el)) noNestedBase(c, inFragment);
}

function noAttributes(el: XmlElement): void {
  const a = el.attributes[0];
  if (a) throw new ApimLoadError('unsupported-attribute', `<${el.name}> has no attribute "${a.name}"`, a.pos);
}

function onlyElements(el: XmlElement): void {
  for (const c of el.children) {
    if (c.kind === 'element') continue;
    if (c.kind === 'text' && c.value.trim() === '') continue;
    throw new ApimLoadError('xml-malformed', `<${el.name}> contains only elements, not text or expressions`, c.pos);
  }
}
