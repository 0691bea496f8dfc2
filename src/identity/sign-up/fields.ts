import { z } from 'zod';
import { parseAddress } from '../email.js';
import { esc } from '../pages/layout.js';
import { ENGLISH, fill, type MessageKey, type Vars } from '../i18n/index.js';

/** plain-text messages in one language (English by default) */
type Say = (key: MessageKey, vars?: Vars) => string;
const english: Say = (key, vars) => fill(ENGLISH[key]!, vars);

/**
 * Custom sign-up: extra fields an operator configures (`identity.sign-up.fields`), checked on the
 * server (the page has `novalidate`; the browser's checks are a convenience only), stored as
 * account attributes (so `identity.claims` can put them in tokens), and terms of service
 * accepted with their version and time.
 */

const FIELD_TYPES = ['text', 'email', 'tel', 'date', 'select', 'checkbox'] as const;
/** form names the sign-up page uses itself, claims an account has anyway, and the claims of a token itself */
const RESERVED = new Set([
  'csrf', 'email', 'username', 'password', 'terms', 'sub', 'roles', 'groups', 'email_verified', 'preferred_username', 'terms_version', 'terms_accepted_at',
  'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'azp', 'scp', 'scope', 'client_id', 'cnf', 'amr', 'acr', 'auth_time', 'nonce', 'at_hash', 'c_hash', 'sid', 'idp', 'act', 'may_act',
]);

const compiles = (p: string) => { try { new RegExp(p, 'u'); return true; } catch { return false; } };

export const signUpFieldSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z_][\w-]{0,63}$/, 'a field name is a letter or _ then letters, digits, _ or - (at most 64)')
    .refine((n) => !RESERVED.has(n), { message: 'this name is used by the sign-up page, the account or tokens themselves (a claim like iss, aud, exp, scp); choose another' })
    .describe('Form field and account attribute name (list it under `identity.claims` to put it in tokens).'),
  label: z.string().min(1).max(200).describe('Label shown on the page.'),
  type: z.enum(FIELD_TYPES).default('text').describe('text, email, tel, date (YYYY-MM-DD), select (one of `options`) or checkbox (stored as true/false).'),
  required: z.boolean().default(false).describe('Sign-up is refused without a value (a required checkbox must be ticked).'),
  pattern: z.string().max(500).refine(compiles, { message: 'not a valid regular expression' }).optional().describe('Regular expression the whole value must match (text, email, tel).'),
  options: z.array(z.strictObject({ value: z.string().min(1).max(200).describe('Value stored when chosen.'), label: z.string().min(1).max(200).describe('Text shown.') })).min(1).optional().describe('The choices of a select field.'),
  'max-length': z.number().int().min(1).max(2000).default(200).describe('Longest value accepted, in characters.'),
  hint: z.string().max(300).optional().describe('Help text shown under the label.'),
});
export type SignUpField = z.infer<typeof signUpFieldSchema>;

export const signUpFieldsSchema = z.array(signUpFieldSchema).max(30).default([]).superRefine((fields, ctx) => {
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate sign-up field ${f.name}` });
    seen.add(f.name);
    if (f.type === 'select' && !f.options) ctx.addIssue({ code: 'custom', path: [i, 'options'], message: 'a select field needs options: [{ value, label }, ...]' });
    if (f.type !== 'select' && f.options) ctx.addIssue({ code: 'custom', path: [i, 'options'], message: 'options are for type: select only' });
    if (f.pattern && (f.type === 'select' || f.type === 'checkbox' || f.type === 'date')) ctx.addIssue({ code: 'custom', path: [i, 'pattern'], message: `pattern does not apply to type: ${f.type}` });
  });
}).describe('Extra sign-up fields, stored as account attributes of the same name.');

export const termsSchema = z.strictObject({
  url: z.url().describe('Where the terms are published (linked from the sign-up page).'),
  version: z.string().min(1).max(100).describe('Version of the terms; stored with the acceptance time as the account attributes `terms_version` and `terms_accepted_at`.'),
  label: z.string().max(200).optional().describe('Text of the acceptance checkbox (default "I accept the terms of service").'),
}).describe('Terms of service every sign-up must accept.');

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const FORBIDDEN = /[\u0000-\u001f\u007f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const TEL = /^\+?[0-9][0-9 ().-]{2,31}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const validDate = (s: string) => {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!));
  return d.getUTCFullYear() === +m[1]! && d.getUTCMonth() === +m[2]! - 1 && d.getUTCDate() === +m[3]!;
};

/** what is wrong with a value for a tel, date or select field */
function typeError(f: SignUpField, v: string, say: Say): string | undefined {
  if (f.type === 'tel' && !TEL.test(v)) return say('field.tel', { label: f.label });
  if (f.type === 'date' && !validDate(v)) return say('field.date', { label: f.label });
  if (f.type === 'select' && !f.options!.some((o) => o.value === v)) return say('field.select', { label: f.label });
  return undefined;
}

/** form names the page itself sends */
const PAGE_NAMES = new Set(['csrf', 'email', 'username', 'password', 'terms']);

export interface FieldCheck {
  /** the values typed, as sent back on the page */
  values: Record<string, string>;
  /** account attributes to store, when `errors` is empty */
  attributes: Record<string, string | boolean>;
  /** field name → message */
  errors: Record<string, string>;
  /** a form name that is no field of the page: the whole form is refused */
  unknown?: string;
}

/** check the custom fields (and the terms box) of a submitted sign-up form */
export function checkFields(fields: readonly SignUpField[], terms: z.infer<typeof termsSchema> | undefined, form: URLSearchParams, now = Date.now(), say: Say = english): FieldCheck {
  const values: Record<string, string> = {}, attributes: Record<string, string | boolean> = {}, errors: Record<string, string> = {};
  const known = new Set([...PAGE_NAMES, ...fields.map((f) => f.name)]);
  let unknown: string | undefined;
  const counts = new Map<string, number>();
  for (const k of form.keys()) {
    if (!known.has(k) && unknown === undefined) unknown = k;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const f of fields) {
    const raw = form.get(f.name) ?? '';
    const v = f.type === 'checkbox' ? raw : raw.trim();
    values[f.name] = v.length > f['max-length'] ? '' : v;
    if ((counts.get(f.name) ?? 0) > 1) { errors[f.name] = say('field.once', { label: f.label }); continue; }
    if (v.length > f['max-length']) { errors[f.name] = say('field.too-long', { label: f.label, n: f['max-length'] }); continue; }
    if (f.type === 'checkbox') {
      const on = v !== '';
      if (f.required && !on) errors[f.name] = say('field.tick', { label: f.label });
      else attributes[f.name] = on;
      continue;
    }
    if (!v) { if (f.required) errors[f.name] = say('field.required', { label: f.label }); continue; }
    if (FORBIDDEN.test(v)) { errors[f.name] = say('field.forbidden', { label: f.label }); continue; }
    let stored = v;
    if (f.type === 'email') {
      const a = parseAddress(v);
      if (!a) { errors[f.name] = say('field.email', { label: f.label }); continue; }
      stored = a;
    }
    const wrong = typeError(f, v, say);
    if (wrong) { errors[f.name] = wrong; continue; }
    if (f.pattern && !new RegExp(`^(?:${f.pattern})$`, 'u').test(v)) { errors[f.name] = say('field.pattern', { label: f.label }); continue; }
    attributes[f.name] = stored;
  }
  if (terms) {
    values.terms = form.get('terms') ?? '';
    if (values.terms !== terms.version) errors.terms = say('field.terms');
    else { attributes.terms_version = terms.version; attributes.terms_accepted_at = new Date(now).toISOString(); }
  }
  return { values, attributes, errors, unknown };
}

const describedBy = (name: string, err: Record<string, string>, hint?: boolean) => {
  const ids = [hint ? `f-${name}-hint` : '', err[name] ? `f-${name}-error` : ''].filter(Boolean).join(' ');
  return (ids ? ` aria-describedby="${ids}"` : '') + (err[name] ? ' aria-invalid="true"' : '');
};
const message = (name: string, err: Record<string, string>) => (err[name] ? `<p class="field-error" id="f-${esc(name)}-error">${esc(err[name])}</p>` : '');

/** the HTML of the custom fields and the terms box, with the values typed and each field's error */
export function renderFields(fields: readonly SignUpField[], terms: z.infer<typeof termsSchema> | undefined, values: Record<string, string> = {}, errors: Record<string, string> = {}, say: Say = english): string {
  const out: string[] = [];
  for (const f of fields) {
    const id = `f-${esc(f.name)}`, name = esc(f.name), v = values[f.name] ?? '';
    const hint = f.hint ? ` <span class="hint" id="${id}-hint">${esc(f.hint)}</span>` : '';
    const req = f.required ? ' required' : '';
    const aria = describedBy(f.name, errors, !!f.hint);
    if (f.type === 'checkbox') {
      out.push(`<label class="check"><input id="${id}" name="${name}" type="checkbox" value="yes"${v ? ' checked' : ''}${req}${aria}> ${esc(f.label)}${hint}</label>${message(f.name, errors)}`);
    } else if (f.type === 'select') {
      const opts = f.options!.map((o) => `<option value="${esc(o.value)}"${o.value === v ? ' selected' : ''}>${esc(o.label)}</option>`).join('');
      out.push(`<label for="${id}">${esc(f.label)}${hint}</label>\n<select id="${id}" name="${name}"${req}${aria}><option value="">${esc(say('field.choose'))}</option>${opts}</select>${message(f.name, errors)}`);
    } else {
      out.push(`<label for="${id}">${esc(f.label)}${hint}</label>\n<input id="${id}" name="${name}" type="${f.type}"${f.type === 'date' ? '' : ` maxlength="${f['max-length']}"`} value="${esc(v)}"${req}${aria}>${message(f.name, errors)}`);
    }
  }
  if (terms) {
    const label = terms.label ?? say('field.terms-label');
    out.push(`<label class="check"><input id="f-terms" name="terms" type="checkbox" value="${esc(terms.version)}"${values.terms === terms.version ? ' checked' : ''} required${describedBy('terms', errors)}> ${esc(label)} (<a href="${esc(terms.url)}" target="_blank" rel="noopener noreferrer">${esc(say('field.terms-version', { version: terms.version }))}</a>)</label>${message('terms', errors)}`);
  }
  return out.join('\n');
}
