import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigInvalid, type ConfigIssue } from '../../config/errors.js';
import { ENGLISH, type MessageKey } from './index.js';

/**
 * An operator's page layout: `<templates-dir>/layout.html`, compiled once at start. Placeholders:
 * `{{lang}}`, `{{title}}`, `{{name}}` (the product name), `{{base}}` (the mount path) and
 * `{{t "key"}}` (a message, in the page's language) are escaped; `{{{head}}}` (the stylesheet
 * links), `{{{logo}}}` (the logo's <img>, or nothing) and `{{{body}}}` (the page) are markup the
 * provider made. Anything else in braces is an error at its line and column.
 */
export interface LayoutTemplate {
  render(values: Record<TextSlot, string>, markup: Record<MarkupSlot, string>, t: (key: MessageKey) => string): string;
}

type TextSlot = 'lang' | 'title' | 'name' | 'base';
type MarkupSlot = 'head' | 'logo' | 'body';
const TEXT: readonly string[] = ['lang', 'title', 'name', 'base'];
const MARKUP: readonly string[] = ['head', 'logo', 'body'];

type Part = string | { text: TextSlot } | { markup: MarkupSlot } | { key: MessageKey };

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const TAG = /\{\{\{\s*([^{}]*?)\s*\}\}\}|\{\{\s*([^{}]*?)\s*\}\}/g;

export function compileLayout(source: string, file: string): LayoutTemplate {
  const parts: Part[] = [];
  const issues: ConfigIssue[] = [];
  const at = (offset: number, message: string) => {
    const before = source.slice(0, offset).split('\n');
    issues.push({ file, line: before.length, column: before.at(-1)!.length + 1, path: '', message });
  };
  let last = 0;
  for (const m of source.matchAll(TAG)) {
    parts.push(source.slice(last, m.index));
    last = m.index + m[0].length;
    const [tripled, doubled] = [m[1], m[2]];
    const key = doubled !== undefined ? /^t\s+"([^"]+)"$/.exec(doubled)?.[1] : undefined;
    if (tripled !== undefined && MARKUP.includes(tripled)) parts.push({ markup: tripled as MarkupSlot });
    else if (doubled !== undefined && TEXT.includes(doubled)) parts.push({ text: doubled as TextSlot });
    else if (key !== undefined && Object.hasOwn(ENGLISH, key)) parts.push({ key: key as MessageKey });
    else if (key !== undefined) at(m.index, `unknown message key "${key}"`);
    else at(m.index, `unknown placeholder ${m[0]}: use {{lang}}, {{title}}, {{name}}, {{base}}, {{t "key"}}, {{{head}}}, {{{logo}}} or {{{body}}}`);
  }
  parts.push(source.slice(last));
  if (!parts.some((p) => typeof p === 'object' && 'markup' in p && p.markup === 'body')) at(0, 'the layout has no {{{body}}}: the page would not show');
  if (issues.length) throw new ConfigInvalid(issues);
  return {
    render: (values, markup, t) => parts.map((p) => (typeof p === 'string' ? p : 'text' in p ? esc(values[p.text]) : 'markup' in p ? markup[p.markup] : t(p.key))).join(''),
  };
}

/** the operator's layout in `dir` (layout.html) */
export function loadLayout(dir: string): LayoutTemplate {
  const file = join(dir, 'layout.html');
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigInvalid([{ file, line: 0, column: 0, path: 'identity.branding.templates-dir', message: code === 'ENOENT' ? 'templates-dir has no layout.html' : `cannot read the layout (${code})` }]);
  }
  return compileLayout(source, file);
}
