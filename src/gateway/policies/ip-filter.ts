import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { problem } from '../problems.js';
import { ConfigError } from '../../config/errors.js';
import { compileAddressMatcher } from '../../net/ip.js';
import { failedCheck } from './kit/fields.js';

export const IpFilterConfig = z.strictObject({
  action: z.enum(['allow', 'forbid']).describe('allow: only the listed callers pass; forbid: the listed callers are refused'),
  addresses: z.array(z.string()).default([]).describe('IPv4 / IPv6 addresses and CIDR blocks (10.0.0.0/8, 2001:db8::/32)'),
  'address-ranges': z.array(z.strictObject({
    from: z.string().describe('first address of the range'),
    to: z.string().describe('last address of the range (inclusive)'),
  })).default([]).describe('inclusive address ranges'),
  ...failedCheck({ status: 'status of a refused caller', message: 'detail of the refusal' }, 'Your IP address is not allowed.'),
});

/**
 * Allow or forbid callers by IP. The caller is the socket's address unless the socket is one of
 * `gateway.trusted-proxies` (then the nearest untrusted X-Forwarded-For hop). The lists are
 * compiled into sorted ranges: a lookup is a binary search whatever the list size.
 */
export const ipFilter = definePolicy({
  name: 'ip-filter',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline' },
  description:
    'Allows or forbids callers by IP address, CIDR block or address range (IPv4 and IPv6; IPv4-mapped IPv6 is ' +
    'normalized). The caller is the socket address, or the nearest untrusted X-Forwarded-For hop behind ' +
    'gateway.trusted-proxies. Refused callers get 403 caller-ip-not-allowed.',
  example: `ip-filter:
  action: allow
  addresses: [10.0.0.0/8, 2001:db8::/32]
  address-ranges: [{ from: 203.0.113.10, to: 203.0.113.20 }]`,
  schema: IpFilterConfig,
  create(config) {
    if (config.addresses.length === 0 && config['address-ranges'].length === 0) {
      throw new ConfigError('give addresses or address-ranges');
    }
    const matcher = compileAddressMatcher(config.addresses, config['address-ranges'], { addresses: ['addresses'], ranges: ['address-ranges'] });
    const allow = config.action === 'allow';
    const refusal = problem('caller-ip-not-allowed', config['failed-check-error-message'], { status: config['failed-check-httpcode'] });
    return (ex) => (matcher.has(ex.clientIp) === allow ? undefined : refusal);
  },
});
