import { isUtf8 } from 'node:buffer';

/**
 * Is this XML well-formed? (`validate-as: xml-wellformed`; there is no XML schema validation.)
 *
 * One root element, balanced tags, quoted and unique attributes, known entity references only,
 * nesting within `maxDepth`. A DOCTYPE is refused outright: DTDs are where XML external entities
 * (XXE) and entity expansion bombs live, and an API body never needs one.
 */
export type XmlResult = { ok: true } | { ok: false; rule: 'syntax' | 'doctype' | 'max-depth' | 'encoding'; message: string };

const NAME = '[A-Za-z_][\\w.:-]*';
const START = new RegExp(`<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`, 'y');
const END = new RegExp(`</(${NAME})\\s*>`, 'y');
const ATTR = new RegExp(`(${NAME})\\s*=`, 'g');
const ENTITY = /&(?:lt|gt|amp|apos|quot|#[0-9]+|#x[0-9A-Fa-f]+);/y;

export function checkXml(buf: Buffer, maxDepth: number): XmlResult {
  if (!isUtf8(buf)) return { ok: false, rule: 'encoding', message: 'body is not valid UTF-8' };
  const s = buf.toString('utf8');
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const fail = (message: string): XmlResult => ({ ok: false, rule: 'syntax', message: `not well-formed XML: ${message}` });
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const textEnd = lt < 0 ? s.length : lt;
    // text: entities must be known; outside the root only whitespace
    for (let a = s.indexOf('&', i); a >= 0 && a < textEnd; a = s.indexOf('&', a + 1)) {
      ENTITY.lastIndex = a;
      if (!ENTITY.test(s)) return fail(`unknown or malformed entity reference at offset ${a}`);
    }
    if (stack.length === 0 && s.slice(i, textEnd).trim() !== '') return fail('text outside the root element');
    if (lt < 0) break;
    if (s.startsWith('<!--', lt)) {
      const e = s.indexOf('-->', lt + 4);
      if (e < 0) return fail('unterminated comment');
      i = e + 3;
    } else if (s.startsWith('<?', lt)) {
      const e = s.indexOf('?>', lt + 2);
      if (e < 0) return fail('unterminated processing instruction');
      i = e + 2;
    } else if (s.startsWith('<![CDATA[', lt)) {
      if (stack.length === 0) return fail('CDATA outside the root element');
      const e = s.indexOf(']]>', lt + 9);
      if (e < 0) return fail('unterminated CDATA section');
      i = e + 3;
    } else if (s.startsWith('<!', lt)) {
      return { ok: false, rule: 'doctype', message: 'a DOCTYPE or other declaration is not allowed' };
    } else if (s[lt + 1] === '/') {
      END.lastIndex = lt;
      const m = END.exec(s);
      if (!m) return fail(`malformed end tag at offset ${lt}`);
      if (stack.pop() !== m[1]) return fail(`end tag </${m[1]!.slice(0, 64)}> does not close the open element`);
      i = END.lastIndex;
    } else {
      START.lastIndex = lt;
      const m = START.exec(s);
      if (!m) return fail(`malformed start tag at offset ${lt}`);
      if (m[2]) {
        const seen = new Set<string>();
        for (const a of m[2].matchAll(ATTR)) {
          if (seen.has(a[1]!)) return fail(`attribute "${a[1]!.slice(0, 64)}" appears twice`);
          seen.add(a[1]!);
        }
        for (let a = m[2].indexOf('&'); a >= 0; a = m[2].indexOf('&', a + 1)) {
          ENTITY.lastIndex = a;
          if (!ENTITY.test(m[2])) return fail('unknown or malformed entity reference in an attribute');
        }
      }
      if (stack.length === 0 && ++roots > 1) return fail('more than one root element');
      if (m[3] !== '/') {
        if (stack.length >= maxDepth) return { ok: false, rule: 'max-depth', message: `nesting is deeper than ${maxDepth} levels` };
        stack.push(m[1]!);
      }
      i = START.lastIndex;
    }
  }
  if (stack.length > 0) return fail(`element <${stack[stack.length - 1]!.slice(0, 64)}> is not closed`);
  if (roots === 0) return fail('no root element');
  return { ok: true };
}
