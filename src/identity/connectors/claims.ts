import type { ResolvedConnector } from '../federation/presets.js';
import type { VerifiedIdentity } from './connector.js';

/** The value at a dot-separated path (`profile.emails.0`) of verified claims; own properties only. */
export function claimAt(claims: unknown, path: string): unknown {
  // a name that contains dots itself (a SAML attribute such as urn:oid:0.9.2342.19200300.100.1.3)
  if (claims !== null && typeof claims === 'object' && Object.hasOwn(claims, path)) return (claims as Record<string, unknown>)[path];
  let v: unknown = claims;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * The identity an upstream proved, read from its verified claims with the connector's claims
 * mapping. A subject that is missing or not a string or number is no identity; an email address
 * counts as verified only when the mapped claim is exactly `true` (or the string `"true"`, as
 * some providers send it).
 */
export function identityFromClaims(c: ResolvedConnector, claims: Record<string, unknown>, amr: readonly string[]): VerifiedIdentity | undefined {
  const sub = single(claimAt(claims, c.claims.subject));
  const subject = typeof sub === 'number' && Number.isSafeInteger(sub) ? String(sub) : typeof sub === 'string' ? sub : undefined;
  if (!subject || subject.length > 255) return undefined;
  const email = single(claimAt(claims, c.claims.email));
  const rule = c.claims['email-verified'];
  const verified = rule === true ? true : single(claimAt(claims, rule));
  const hasEmail = typeof email === 'string' && email.length > 0 && email.length <= 320;
  return {
    connector: c.id,
    subject,
    email: hasEmail ? email : undefined,
    emailVerified: hasEmail && (verified === true || verified === 'true'),
    claims,
    amr,
  };
}

/** a one-valued list as its value (SAML attributes are lists) */
export const single = (v: unknown) => (Array.isArray(v) && v.length === 1 ? v[0] : v);

/** Read a JSON body of at most `limit` bytes (an upstream's profile or error): bounded, whatever it sends. */
export async function boundedJson(res: Response, limit = 256 * 1024): Promise<unknown> {
  const text = await boundedText(res, limit);
  return text === undefined ? undefined : JSON.parse(text);
}

/** The profile endpoint's answer (bounded), which must be a JSON object. */
export async function profileObject(res: Response): Promise<Record<string, unknown>> {
  const body = await boundedJson(res);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('the profile endpoint did not answer a JSON object');
  return body as Record<string, unknown>;
}

/** Read a body of at most `limit` bytes as UTF-8; over it, the read stops and this throws. */
export async function boundedText(res: Response, limit: number): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return undefined;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) { await reader.cancel(); throw new Error(`the upstream's answer is over ${limit} bytes`); }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
