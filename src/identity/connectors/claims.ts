import type { ResolvedConnector } from '../federation/presets.js';
import type { VerifiedIdentity } from './connector.js';

/** The value at a dot-separated path (`profile.emails.0`) of verified claims; own properties only. */
export function claimAt(claims: unknown, path: string): unknown {
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
  const sub = claimAt(claims, c.claims.subject);
  const subject = typeof sub === 'number' && Number.isSafeInteger(sub) ? String(sub) : typeof sub === 'string' ? sub : undefined;
  if (!subject || subject.length > 255) return undefined;
  const email = claimAt(claims, c.claims.email);
  const verified = claimAt(claims, c.claims['email-verified']);
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

/** Read a JSON body of at most `limit` bytes (an upstream's profile or error): bounded, whatever it sends. */
export async function boundedJson(res: Response, limit = 256 * 1024): Promise<unknown> {
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
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
