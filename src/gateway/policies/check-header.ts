import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { problem } from '../problems.js';
import { HeaderName, failedCheck } from './kit/fields.js';

export const CheckHeaderConfig = z.strictObject({
  name: HeaderName.describe('the request header to check'),
  values: z.array(z.string()).default([]).describe('accepted values (any of); empty: the header only has to be present'),
  'ignore-case': z.boolean().default(false).describe('compare values case-insensitively'),
  ...failedCheck({ status: 'status when the check fails', message: 'detail of the refusal (default names the header)' }),
});

/**
 * Require a request header, optionally with one of the given values. A header sent more than
 * once passes only when every occurrence is acceptable (so a client cannot pair a good value
 * with a bad one and hope the backend reads the other).
 */
export const checkHeader = definePolicy({
  name: 'check-header',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline' },
  description:
    'Requires a request header, optionally with one of the listed values (exact or case-insensitive). A request ' +
    'without it, or with a value not listed, is answered 403 header-check-failed.',
  example: `check-header:
  name: X-Tenant
  values: [contoso, fabrikam]
  ignore-case: true`,
  schema: CheckHeaderConfig,
  create(config) {
    const lower = config.name.toLowerCase();
    const ignoreCase = config['ignore-case'];
    const accepted = new Set(config.values.map((v) => (ignoreCase ? v.toLowerCase() : v)));
    const anyValue = accepted.size === 0;
    const refusal = problem('header-check-failed',
      config['failed-check-error-message'] ?? (anyValue ? `The ${config.name} header is required.` : `The ${config.name} header is missing or has a value that is not accepted.`),
      { status: config['failed-check-httpcode'] },
    );
    const ok = (v: string) => accepted.has(ignoreCase ? v.toLowerCase() : v);
    return (ex) => {
      const raw = ex.req.rawHeaders;
      let seen = false;
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i]!;
        if (k.length !== lower.length || k.toLowerCase() !== lower) continue;
        seen = true;
        if (!anyValue && !ok(raw[i + 1]!)) return refusal;
      }
      return seen ? undefined : refusal;
    };
  },
});
