import type { IdentityConfig } from '../schema.js';

/**
 * What a sign-in proved, as `acr` (authentication context class reference) values: one factor
 * (a password, or a federated sign-in), or more than one. A client that needs the stronger one
 * asks for it with `acr_values`; the ID token and access token say which one the user reached.
 */
export const ACR = {
  single: 'urn:gatehouse:acr:sfa',
  multi: 'urn:gatehouse:acr:mfa',
} as const;
export const ACR_VALUES = [ACR.single, ACR.multi] as const;

/** RFC 8176 `amr` values that are a second factor: a one-time code (authenticator app, recovery code), a security key or passkey */
const SECOND_FACTORS = new Set(['otp', 'hwk', 'swk']);

export type MfaPolicy = IdentityConfig['mfa']['policy'];
const RANK: Record<MfaPolicy, number> = { off: 0, optional: 1, required: 2 };

/** did the sign-in these `amr` describe use a second factor */
export const hasSecondFactor = (amr: readonly string[] | undefined) => !!amr?.some((a) => SECOND_FACTORS.has(a));

/** the `acr` of a sign-in with these `amr` */
export const acrOf = (amr: readonly string[] | undefined) => (hasSecondFactor(amr) ? ACR.multi : ACR.single);

/**
 * The `amr` after a second factor: the first factor's values, the factor's own (`otp`, `hwk`),
 * and `mfa` (RFC 8176: more than one factor).
 */
export function withFactor(amr: readonly string[] | undefined, factor: string): string[] {
  return [...new Set([...(amr ?? []), factor, 'mfa'])];
}

/** does `acr_values` ask for more than one factor (every value it lists is the multi-factor one) */
export function asksForMfa(acrValues: unknown): boolean {
  if (typeof acrValues !== 'string' || !acrValues.trim()) return false;
  const asked = acrValues.trim().split(/\s+/);
  return asked.every((v) => v === ACR.multi);
}

/**
 * The policy of a sign-in: the client's (default `mfa.policy`), made stricter by the policy an
 * API it asks tokens for sets (by `resource`, else by the API scopes asked for).
 */
export function effectivePolicy(cfg: IdentityConfig, clientPolicy: MfaPolicy | undefined, o: { scope?: unknown; resource?: unknown }): MfaPolicy {
  const fallback = cfg.mfa.policy;
  const policies: MfaPolicy[] = [clientPolicy ?? fallback];
  const resources = new Set((Array.isArray(o.resource) ? o.resource : [o.resource]).filter((r): r is string => typeof r === 'string'));
  const scopes = new Set(typeof o.scope === 'string' ? o.scope.split(' ') : []);
  for (const api of cfg.apis) {
    if (api.mfa && (resources.has(api.audience) || (resources.size === 0 && api.scopes.some((s) => scopes.has(s))))) policies.push(api.mfa);
  }
  return policies.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
}
