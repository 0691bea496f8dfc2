import { z } from 'zod';
import { HEADER_NAME } from '../../../net/headers.js';

/**
 * Schema fields several policies share, so that one attribute means one thing, is validated one
 * way and reads the same in the generated reference. Each policy still spells out its own schema
 * (schema beside behaviour); these are its building blocks.
 */

/** An HTTP header name (an RFC 9110 token). */
export const HeaderName = z.string().regex(HEADER_NAME, 'not a valid header name');

/** A variable name (`{var.<name>}` in later policies). */
export const VariableName = z.string().regex(/^[A-Za-z0-9_.-]+$/);

/** The realm of a WWW-Authenticate challenge: a quoted-string body without `"` or `\`. */
export const Realm = z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/).optional()
  .describe('realm of the WWW-Authenticate challenge (default: the API name)');

/** The status of a refusal (400-599), with its default. */
export function errorStatus(dflt: number, doc: string) {
  return z.number().int().min(400).max(599).default(dflt).describe(doc);
}

/** The status of a response a policy makes up (100-599), with its default. */
export function responseStatus(dflt: number, doc: string) {
  return z.number().int().min(100).max(599).default(dflt).describe(doc);
}

interface FailedCheckDocs {
  /** what `failed-check-httpcode` is the status of */
  status: string;
  /** what `failed-check-error-message` replaces */
  message: string;
  /** status when not configured (403) */
  defaultStatus?: number;
}

/**
 * The `failed-check-httpcode` / `failed-check-error-message` pair of the check policies: the
 * status and the detail of their refusal. The message is optional (the policy has a specific
 * default), or has the given default.
 */
export function failedCheck(docs: FailedCheckDocs): {
  'failed-check-httpcode': ReturnType<typeof errorStatus>;
  'failed-check-error-message': z.ZodOptional<z.ZodString>;
};
export function failedCheck(docs: FailedCheckDocs, defaultMessage: string): {
  'failed-check-httpcode': ReturnType<typeof errorStatus>;
  'failed-check-error-message': z.ZodDefault<z.ZodString>;
};
export function failedCheck(docs: FailedCheckDocs, defaultMessage?: string) {
  const message = defaultMessage === undefined ? z.string().optional() : z.string().default(defaultMessage);
  return {
    'failed-check-httpcode': errorStatus(docs.defaultStatus ?? 403, docs.status),
    'failed-check-error-message': message.describe(docs.message),
  };
}

/** A list of response statuses: codes (404) or classes ("2xx"). */
export const StatusList = z
  .array(
    z.union([
      z.number().int().min(100).max(599),
      z.string().regex(/^[1-5](xx|XX|\d\d)$/, 'use a status code (404) or a class ("2xx")'),
    ]),
  )
  .min(1);

/** Compile a StatusList to a test; statuses outside 100-599 never match. */
export function compileStatusList(list: ReadonlyArray<number | string>): (status: number) => boolean {
  const table = new Uint8Array(600);
  for (const s of list) {
    if (typeof s === 'number') table[s] = 1;
    else if (/^\d{3}$/.test(s)) table[Number(s)] = 1;
    else {
      const base = Number(s[0]) * 100;
      for (let i = base; i < base + 100; i++) table[i] = 1;
    }
  }
  return (status) => status > 0 && status < 600 && table[status] === 1;
}

/** A key template (`{request.ip}`, `{jwt.sub}`, `{request.header.X-Api-Key}`), compiled at load with ctx.compileTemplate. */
export function keyTemplate(doc: string) {
  return z.string().min(1).describe(doc);
}
