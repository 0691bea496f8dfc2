/**
 * Named values: `{{name}}` references are replaced by their values before the document is read,
 * as the service does, so a named value may hold a literal or a whole expression. Only names made
 * of letters, digits, `.`, `-` and `_` are references; text inside XML comments and inside liquid
 * bodies (`<set-body template="liquid">`, where `{{body.x}}` is liquid's own syntax) is left alone.
 * A value is the literal text of the place it fills: in a literal attribute or element text its
 * `&`, `<` and quotes are escaped (a JSON value in `value="{{config}}"` stays one attribute), in an
 * expression (an attribute or text that starts with `@`) it is inserted as it is.
 */

export interface Substitution {
  /** The document text with every defined reference replaced. */
  text: string;
  /** Maps an offset of `text` back to the original document (a replaced value maps to its `{{`). */
  toOriginal(offset: number): number;
  /** Names referenced but not defined, with the offset of their `{{` in the original text. */
  undefined: Array<{ name: string; offset: number }>;
}

interface Segment { at: number; orig: number; len: number; replaced: boolean }

const TOKEN = /<!--|<set-body\b|\{\{([A-Za-z0-9._-]{1,256})\}\}/g;
const SET_BODY_TAG = /<set-body\b([^>]*)>/y;
const LIQUID = /\btemplate\s*=\s*["']liquid["']/;

export function substituteNamedValues(src: string, values: ReadonlyMap<string, string>): Substitution {
  const segments: Segment[] = [];
  const undefinedRefs: Substitution['undefined'] = [];
  let out = '';
  let copied = 0;
  const copyTo = (end: number) => {
    if (end > copied) {
      segments.push({ at: out.length, orig: copied, len: end - copied, replaced: false });
      out += src.slice(copied, end);
      copied = end;
    }
  };
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(src); m; m = TOKEN.exec(src)) {
    if (m[0] === '<!--') {
      const end = src.indexOf('-->', m.index + 4);
      TOKEN.lastIndex = end < 0 ? src.length : end + 3;
    } else if (m[0] === '<set-body') {
      SET_BODY_TAG.lastIndex = m.index;
      const tag = SET_BODY_TAG.exec(src);
      if (tag && LIQUID.test(tag[1]!) && !tag[1]!.endsWith('/')) {
        const end = src.indexOf('</set-body', SET_BODY_TAG.lastIndex);
        TOKEN.lastIndex = end < 0 ? src.length : end;
      }
    } else {
      const name = m[1]!;
      const value = values.get(name);
      if (value === undefined) {
        undefinedRefs.push({ name, offset: m.index });
        continue;
      }
      copyTo(m.index);
      const text = !value.trimStart().startsWith('@') && inLiteral(src, m.index) ? escapeLiteral(value) : value;
      segments.push({ at: out.length, orig: m.index, len: text.length, replaced: true });
      out += text;
      copied = m.index + m[0].length;
    }
  }
  copyTo(src.length);
  if (segments.length <= 1 && !segments.some((s) => s.replaced)) {
    return { text: src, toOriginal: (o) => o, undefined: undefinedRefs };
  }
  const toOriginal = (offset: number): number => {
    let lo = 0, hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid]!.at <= offset) lo = mid; else hi = mid - 1;
    }
    const s = segments[lo];
    if (!s) return offset;
    return s.replaced ? s.orig : s.orig + Math.min(offset - s.at, s.len);
  };
  return { text: out, toOriginal, undefined: undefinedRefs };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const escapeLiteral = (v: string) => (/[&<>"']/.test(v) ? v.replace(/[&<>"']/g, (c) => ESCAPES[c]!) : v);

/**
 * Whether the reference at `at` sits in literal text rather than in an expression: the nearest
 * `<` or `>` before it tells a tag (attribute value) from element text; an attribute or text whose
 * value starts with `@`, or a tag that has an expression before the reference, is an expression.
 */
function inLiteral(src: string, at: number): boolean {
  const lt = src.lastIndexOf('<', at), gt = src.lastIndexOf('>', at);
  if (lt > gt) {
    const tag = src.slice(lt, at);
    if (tag.includes('@(') || tag.includes('@{')) return false;
    return /=\s*["'][^"']*$/.test(tag);
  }
  return !src.slice(gt + 1, at).trimStart().startsWith('@');
}
