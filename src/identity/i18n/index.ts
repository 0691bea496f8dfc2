import { AsyncLocalStorage } from 'node:async_hooks';
import { de } from './de.js';
import { en } from './en.js';
import { es } from './es.js';

/**
 * The text of the hosted pages, the account console and the mails, in message catalogs: one key
 * per piece of text, `{name}` placeholders filled at render time. English (en.ts) is the
 * reference: every other catalog has exactly its keys and placeholders (a test checks), and an
 * operator's messages may only replace keys it has. A request's language is chosen once
 * (`choose`) and kept for the request (`inLanguage`), so the page functions need not pass it on.
 */

export type MessageKey = keyof typeof en;
export type Catalog = Readonly<Record<string, string>>;
/** trusted markup for a placeholder (escaped already); anything else is escaped */
export class Html { constructor(readonly html: string) {} }
export const raw = (html: string) => new Html(html);
export type Vars = Readonly<Record<string, string | number | Html | undefined>>;

export const BUILT_IN: Readonly<Record<string, Catalog>> = { en, de, es };
export const ENGLISH: Catalog = en;

const escape = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const PLACEHOLDER = /\{([a-zA-Z][\w-]*)\}/g;

/** the placeholders of a message, sorted: a translation must have the same */
export const placeholdersOf = (text: string) => [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort();

/** `text` in plain words, placeholders filled (for mail and headers) */
export function fill(text: string, vars: Vars = {}): string {
  return text.replace(PLACEHOLDER, (m, name: string) => {
    const v = vars[name];
    return v === undefined ? m : v instanceof Html ? v.html : String(v);
  });
}

/** `text` as HTML: the text and every placeholder escaped, but for `raw` values */
export function fillHtml(text: string, vars: Vars = {}): string {
  return escape(text).replace(PLACEHOLDER, (m, name: string) => {
    const v = vars[name];
    return v === undefined ? m : v instanceof Html ? v.html : escape(v);
  });
}

/** A language range's primary subtag: de-AT → de */
const primary = (tag: string) => tag.split('-')[0]!;

export class I18n {
  readonly #catalogs: ReadonlyMap<string, Catalog>;
  /** the enabled languages, lower case */
  readonly languages: readonly string[];
  readonly fallback: string;

  constructor(catalogs: ReadonlyMap<string, Catalog>, languages: readonly string[], fallback: string) {
    this.#catalogs = catalogs;
    this.languages = languages.map((l) => l.toLowerCase());
    this.fallback = fallback.toLowerCase();
  }

  /** the message `key` in `lang` (else English), plain text */
  text(lang: string, key: MessageKey, vars?: Vars): string {
    return fill(this.#catalogs.get(lang)?.[key] ?? this.#catalogs.get('en')?.[key] ?? en[key] ?? key, vars);
  }

  /** the message `key` in `lang` as HTML: escaped, but for `raw` placeholders */
  t(lang: string, key: MessageKey, vars?: Vars): string {
    return fillHtml(this.#catalogs.get(lang)?.[key] ?? this.#catalogs.get('en')?.[key] ?? en[key] ?? key, vars);
  }

  /** the enabled language a tag asks for: exact (pt-br), else its primary subtag (de-AT → de) */
  match(tag: string): string | undefined {
    const t = tag.trim().toLowerCase();
    if (!t || t === '*') return undefined;
    if (this.languages.includes(t)) return t;
    const p = primary(t);
    return this.languages.find((l) => l === p) ?? this.languages.find((l) => primary(l) === p);
  }

  /**
   * The language of a request: the first supported of `ui_locales` (OpenID Connect, a space-separated
   * list in order of preference), else the best of Accept-Language by q-value, else the default.
   */
  choose(uiLocales: unknown, acceptLanguage: string | undefined): string {
    if (typeof uiLocales === 'string') {
      for (const tag of uiLocales.split(' ').slice(0, 20)) {
        const l = this.match(tag);
        if (l) return l;
      }
    }
    for (const tag of acceptedTags(acceptLanguage)) {
      const l = this.match(tag);
      if (l) return l;
    }
    return this.fallback;
  }
}

/** the language ranges of an Accept-Language header, best first (q=0 left out; ties keep their order) */
export function acceptedTags(header: string | undefined): string[] {
  if (!header) return [];
  return header.slice(0, 1000).split(',').slice(0, 30).map((part, i) => {
    const [tag, ...params] = part.split(';');
    const q = params.map((p) => /^\s*q\s*=\s*([\d.]+)\s*$/.exec(p)).find(Boolean);
    const weight = q ? Number(q[1]) : 1;
    return { tag: tag!.trim(), weight: Number.isFinite(weight) ? weight : 0, i };
  }).filter((x) => x.tag && x.weight > 0).sort((a, b) => b.weight - a.weight || a.i - b.i).map((x) => x.tag);
}

const current = new AsyncLocalStorage<{ lang: string }>();

/** run `fn` with `lang` as the language of what it renders (a request) */
export const inLanguage = <T>(lang: string, fn: () => T): T => current.run({ lang }, fn);

/** change the language of the current request (an interaction's `ui_locales` decides once it is known) */
export function useLanguage(lang: string): void {
  const s = current.getStore();
  if (s) s.lang = lang;
}

/** the language of the current request, or undefined outside one */
export const currentLanguage = (): string | undefined => current.getStore()?.lang;

/** the catalogs: the built-in ones with an operator's messages over them */
export function buildI18n(overrides: Readonly<Record<string, Catalog>>, languages: readonly string[], fallback: string): I18n {
  const catalogs = new Map<string, Catalog>();
  for (const lang of new Set([...Object.keys(BUILT_IN), ...Object.keys(overrides)].map((l) => l.toLowerCase()))) {
    const own = Object.entries(overrides).filter(([l]) => l.toLowerCase() === lang).map(([, c]) => c);
    catalogs.set(lang, Object.assign({}, BUILT_IN[lang], ...own));
  }
  return new I18n(catalogs, languages, fallback);
}
