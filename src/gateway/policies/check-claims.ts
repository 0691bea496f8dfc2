import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { problem } from '../problems.js';
import { ConfigError } from '../../config/errors.js';
import { ClaimRequirement, compileClaimRules } from '../jwt/claims.js';
import { bearerChallenge } from '../jwt/http.js';
import { Realm, failedCheck } from './kit/fields.js';

export const CheckClaimsConfig = z.strictObject({
  'required-claims': z.array(ClaimRequirement).min(1).describe('claims the token must carry: every entry must pass; an entry `{ any-of: [...] }` passes when one of its rules does'),
  ...failedCheck({ status: 'status when a rule fails', message: 'detail sent instead of the default message' }),
  realm: Realm,
});

/**
 * Authorization on the token an earlier validate-jwt already validated: no second verification.
 * Typical use: the API validates the token once; `DELETE /orders/{id}` additionally requires
 * `scp` containing `orders.write`.
 */
export const checkClaims = definePolicy({
  name: 'check-claims',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline', requires: ['claims'] },
  description:
    'Checks claims of the token validated by an earlier validate-jwt, without verifying it again (operation-level ' +
    'authorization). A failing rule is answered 403 (token-claim-not-allowed) with an insufficient_scope challenge.',
  example: `check-claims:
  required-claims:
    - any-of:
        - { name: scp, match: any, separator: " ", values: [orders.write] }
        - { name: roles, match: any, values: [admin] }`,
  schema: CheckClaimsConfig,
  create(config, ctx) {
    if (!ctx.claimsAvailable) throw new ConfigError('check-claims needs a validate-jwt earlier in the pipeline');
    const check = compileClaimRules(config['required-claims']);
    const status = config['failed-check-httpcode'];
    const realm = config.realm ?? ctx.api?.name ?? 'gatehouse';
    const message = config['failed-check-error-message'];
    const noClaims = problem('token-missing', 'A validated bearer token is required.', { headers: { 'www-authenticate': `Bearer realm="${realm}"` } });
    return (ex) => {
      const claims = ex.claims;
      // defensive: the pipeline compiler guarantees a validate-jwt ran, and it ends the request on failure
      if (claims === undefined) return noClaims;
      const failed = check(claims);
      if (failed === undefined) return undefined;
      const detail = message ?? `The token's ${failed.slice(0, 80)} claim does not allow this request.`;
      return problem('token-claim-not-allowed', detail, { status, headers: { 'www-authenticate': bearerChallenge(realm, 'insufficient_scope', detail) } });
    };
  },
});
