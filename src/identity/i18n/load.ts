import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { ConfigInvalid, type ConfigIssue } from '../../config/errors.js';
import type { IdentityConfig } from '../schema.js';
import { pageContext, type PageContext } from '../pages/layout.js';
import { loadLayout } from './templates.js';
import { BUILT_IN, buildI18n, ENGLISH, placeholdersOf, type Catalog, type I18n } from './index.js';

/** why `text` cannot be the message `key`, or undefined when it can */
export function messageProblem(key: string, text: unknown): string | undefined {
  if (!Object.hasOwn(ENGLISH, key)) return `unknown message key "${key}" (the keys are those of src/identity/i18n/en.ts)`;
  if (typeof text !== 'string') return 'a message is a string';
  const extra = placeholdersOf(text).filter((p) => !placeholdersOf(ENGLISH[key]!).includes(p));
  return extra.length ? `unknown placeholder {${extra[0]}} in "${key}" (it has ${placeholdersOf(ENGLISH[key]!).map((p) => `{${p}}`).join(', ') || 'none'})` : undefined;
}

/**
 * The catalogs of `messages-dir`: one file per language, `<lang>.json` or `<lang>.yaml`, a flat map
 * of message key to text. An unknown key (or placeholder) is an error at its file:line:column.
 */
export function readMessagesDir(dir: string): Record<string, Catalog> {
  const out: Record<string, Catalog> = {};
  const issues: ConfigIssue[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => ['.json', '.yaml', '.yml'].includes(extname(n))).sort();
  } catch (err) {
    throw new ConfigInvalid([{ file: dir, line: 0, column: 0, path: '', message: `cannot read messages-dir (${(err as NodeJS.ErrnoException).code})` }]);
  }
  for (const name of names) {
    const file = join(dir, name);
    const lang = name.slice(0, -extname(name).length);
    const lines = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    const at = (offset: number | undefined, path: string, message: string) => {
      const p = offset === undefined ? { line: 0, col: 0 } : lines.linePos(offset);
      issues.push({ file, line: p.line, column: p.col, path, message });
    };
    if (!/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i.test(lang)) { at(undefined, '', `the file name is not a language tag (e.g. de.json, pt-BR.yaml)`); continue; }
    if (doc.errors.length) { at(doc.errors[0]!.pos[0], '', `syntax: ${doc.errors[0]!.message.split('\n')[0]}`); continue; }
    if (!isMap(doc.contents)) { at(0, '', 'a messages file is a map of message key to text'); continue; }
    const catalog: Record<string, string> = {};
    for (const pair of doc.contents.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const value = isScalar(pair.value) ? pair.value.value : undefined;
      const problem = messageProblem(key, value);
      if (problem) at((isScalar(pair.key) ? pair.key : undefined)?.range?.[0], key, problem);
      else catalog[key] = value as string;
    }
    out[lang] = catalog;
  }
  if (issues.length) throw new ConfigInvalid(issues);
  return out;
}

/** the page text of `branding`: built-in catalogs, then `messages-dir`, then inline `messages` */
export function loadI18n(branding: IdentityConfig['branding'], configDir: string): I18n {
  const dir = branding['messages-dir'];
  const fromDir = dir ? readMessagesDir(isAbsolute(dir) ? dir : resolve(configDir, dir)) : {};
  const inline = branding.messages ?? {};
  const known = new Set([...Object.keys(BUILT_IN), ...Object.keys(fromDir), ...Object.keys(inline)].map((l) => l.toLowerCase()));
  const missing = branding.languages.filter((l) => !known.has(l.toLowerCase()));
  if (missing.length) throw new ConfigInvalid([{ file: '', line: 0, column: 0, path: 'identity.branding.languages', message: `no messages for ${missing.join(', ')}: add ${missing[0]}.json to messages-dir (keys missing from it are shown in English)` }]);
  const merged: Record<string, Catalog> = { ...fromDir };
  for (const [lang, c] of Object.entries(inline)) merged[lang] = { ...merged[lang], ...c };
  return buildI18n(merged, branding.languages, branding['default-language']);
}

/** the look and language of the hosted pages, from `branding` (files relative to the config folder) */
export function brandedPages(branding: IdentityConfig['branding'], base: string, configDir: string): { page: PageContext; i18n: I18n; logoFile?: string; customCss?: string } {
  const fromConfig = (f: string | undefined) => (f ? (isAbsolute(f) ? f : resolve(configDir, f)) : undefined);
  const i18n = loadI18n(branding, configDir);
  const templatesDir = fromConfig(branding['templates-dir']);
  const customCss = fromConfig(branding['custom-css']);
  if (customCss && !existsSync(customCss)) throw new ConfigInvalid([{ file: customCss, line: 0, column: 0, path: 'identity.branding.custom-css', message: 'the stylesheet does not exist' }]);
  const page = pageContext({ branding, base, i18n, template: templatesDir ? loadLayout(templatesDir) : undefined, customCss: !!customCss });
  return { page, i18n, logoFile: fromConfig(branding.logo), customCss };
}
