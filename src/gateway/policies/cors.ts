import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { ConfigError } from '../../config/errors.js';

const token = z.string().min(1);
const schema = z.strictObject({
  'allowed-origins': z.array(token).min(1).describe('origins allowed to call (`*` for any, or exact origins such as https://app.example.com)'),
  'allowed-methods': z.array(token).default(['GET', 'POST']).describe('methods allowed in a preflight (`*` for any)'),
  'allowed-headers': z.array(token).default([]).describe('request headers allowed in a preflight (`*` for any)'),
  'expose-headers': z.array(token).default([]).describe('response headers the browser may read'),
  'allow-credentials': z.boolean().default(false).describe('allow cookies/Authorization (not with `*` origins)'),
  'max-age': z.number().int().min(0).max(86400).optional().describe('seconds a browser may cache the preflight'),
  'terminate-unmatched-request': z.boolean().default(true)
    .describe('answer a preflight that does not match with 200 and no CORS headers; when false it is passed to the backend'),
});

/**
 * CORS, answered by the gateway. It runs before operation matching (phase `before-operation`): a preflight gets
 * its answer even where no operation allows OPTIONS, and every response of the API — errors the
 * gateway makes up included — carries the CORS headers, so a browser can read them.
 */
export const cors = definePolicy({
  name: 'cors',
  sections: ['inbound'],
  capabilities: { phase: 'before-operation' },
  description: 'Cross-origin resource sharing: answers preflight requests at the gateway and adds CORS headers to every response of the API.',
  example: `- cors:\n    allowed-origins: [https://app.example.com]\n    allowed-methods: [GET, POST, DELETE]\n    allowed-headers: [Authorization, Content-Type]\n    allow-credentials: true\n    max-age: 600`,
  schema,
  create(config) {
    const anyOrigin = config['allowed-origins'].includes('*');
    if (anyOrigin && config['allow-credentials']) {
      throw new ConfigError('allow-credentials cannot be combined with "*" origins (browsers refuse it); list the origins', ['allow-credentials']);
    }
    const origins = new Set(config['allowed-origins'].map((o) => o.toLowerCase().replace(/\/$/, '')));
    const anyMethod = config['allowed-methods'].includes('*');
    const methods = new Set(config['allowed-methods'].map((m) => m.toUpperCase()));
    const anyHeader = config['allowed-headers'].includes('*');
    const headers = new Set(config['allowed-headers'].map((h) => h.toLowerCase()));
    const expose = config['expose-headers'].join(', ');
    const credentials = config['allow-credentials'];
    const maxAge = config['max-age'] === undefined ? undefined : String(config['max-age']);
    const terminate = config['terminate-unmatched-request'];
    const allowed = (origin: string) => anyOrigin || origins.has(origin.toLowerCase());

    return (ex) => {
      const origin = ex.req.headers.origin;
      if (origin === undefined) return undefined;
      const reqMethod = ex.req.headers['access-control-request-method'];
      if (ex.method === 'OPTIONS' && typeof reqMethod === 'string') {
        // preflight
        const reqHeaders = String(ex.req.headers['access-control-request-headers'] ?? '')
          .split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
        const ok = allowed(origin) && (anyMethod || methods.has(reqMethod.toUpperCase())) && (anyHeader || reqHeaders.every((h) => headers.has(h)));
        if (!ok) return terminate ? { status: 200, headers: { vary: 'Origin' } } : undefined;
        const h: Record<string, string> = {
          'access-control-allow-origin': anyOrigin && !credentials ? '*' : origin,
          'access-control-allow-methods': anyMethod ? reqMethod.toUpperCase() : [...methods].join(', '),
          vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        };
        if (reqHeaders.length) h['access-control-allow-headers'] = anyHeader ? reqHeaders.join(', ') : [...headers].join(', ');
        if (credentials) h['access-control-allow-credentials'] = 'true';
        if (maxAge !== undefined) h['access-control-max-age'] = maxAge;
        return { status: 204, headers: h };
      }
      if (!allowed(origin)) return undefined;
      ex.addResponseHeader('access-control-allow-origin', anyOrigin ? '*' : origin);
      if (!anyOrigin) ex.addResponseHeader('vary', 'Origin');
      if (credentials) ex.addResponseHeader('access-control-allow-credentials', 'true');
      if (expose) ex.addResponseHeader('access-control-expose-headers', expose);
      return undefined;
    };
  },
});
