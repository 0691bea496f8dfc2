import { isDeepStrictEqual } from 'node:util';
import type { Matcher, TestCase } from './schema.js';

/** Checks of a case's expectations against what happened; each failed check is one line. */

export interface Observed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  backend: BackendSeen | undefined;
}

export interface BackendSeen {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const MISSING = Symbol('missing');

/** A field of a JSON value by JSON pointer (`/a/0/b`, RFC 6901) or dotted path (`a.0.b`). */
export function fieldOf(value: unknown, where: string): unknown {
  const parts = where.startsWith('/')
    ? where.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    : where === '' ? [] : where.split('.');
  let v: unknown = value;
  for (const p of parts) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p)) return MISSING;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

const show = (v: unknown) => (v === MISSING ? '(absent)' : JSON.stringify(v));

/** undefined when `actual` satisfies `m`, else what is wrong */
function mismatch(m: Matcher, actual: unknown): string | undefined {
  if (m !== null && typeof m === 'object' && !Array.isArray(m)) {
    if (m.absent) return actual === MISSING ? undefined : `expected absent, found ${show(actual)}`;
    if (m.present) return actual !== MISSING ? undefined : 'expected present, found absent';
    if (m.matches !== undefined) {
      return typeof actual === 'string' && new RegExp(m.matches).test(actual) ? undefined : `expected to match /${m.matches}/, found ${show(actual)}`;
    }
    return isDeepStrictEqual(actual, m.equals) ? undefined : `expected ${show(m.equals)}, found ${show(actual)}`;
  }
  // a header is a string: compare numbers and booleans by their text
  if (typeof actual === 'string' && (typeof m === 'number' || typeof m === 'boolean')) return actual === String(m) ? undefined : `expected ${show(String(m))}, found ${show(actual)}`;
  return isDeepStrictEqual(actual, m) ? undefined : `expected ${show(m)}, found ${show(actual)}`;
}

function headerValue(headers: Observed['headers'], name: string): unknown {
  const v = headers[name.toLowerCase()];
  return v === undefined ? MISSING : Array.isArray(v) ? v.join(', ') : v;
}

function json(body: Buffer, what: string, out: string[]): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    out.push(`${what} is not JSON: ${JSON.stringify(body.toString('utf8').slice(0, 120))}`);
    return MISSING;
  }
}

function checkHeaders(expected: Record<string, Matcher>, headers: Observed['headers'], what: string, out: string[]): void {
  for (const [name, m] of Object.entries(expected)) {
    const why = mismatch(m, headerValue(headers, name));
    if (why) out.push(`${what} header ${name}: ${why}`);
  }
}

function checkBody(expected: Record<string, Matcher>, body: Buffer, what: string, out: string[]): void {
  if (Object.keys(expected).length === 0) return;
  const doc = json(body, what, out);
  if (doc === MISSING) return;
  for (const [where, m] of Object.entries(expected)) {
    const why = mismatch(m, fieldOf(doc, where));
    if (why) out.push(`${what} field ${where}: ${why}`);
  }
}

/** Every expectation of `c` that `o` does not meet. */
export function check(c: TestCase, o: Observed): string[] {
  const out: string[] = [];
  const e = c.expect;
  if (e.status !== undefined && o.status !== e.status) {
    out.push(`status: expected ${e.status}, found ${o.status}${o.status >= 400 ? ` (${o.body.toString('utf8').slice(0, 200)})` : ''}`);
  }
  checkHeaders(e.headers, o.headers, 'response', out);
  checkBody(e.body, o.body, 'response body', out);
  const b = e.backend;
  if (b === undefined) return out;
  const wantCalled = b.called ?? true;
  if (!wantCalled) {
    if (o.backend) out.push(`backend: expected not to be called, but it got ${o.backend.method} ${o.backend.path}`);
    return out;
  }
  if (!o.backend) {
    out.push('backend: expected to be called, but the request did not reach it');
    return out;
  }
  if (b.method !== undefined && o.backend.method !== b.method) out.push(`backend method: expected ${b.method}, found ${o.backend.method}`);
  if (b.path !== undefined && o.backend.path !== b.path) out.push(`backend path: expected ${b.path}, found ${o.backend.path}`);
  checkHeaders(b.headers, o.backend.headers, 'backend request', out);
  checkBody(b.body, o.backend.body, 'backend request body', out);
  return out;
}
