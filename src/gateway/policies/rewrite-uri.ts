import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { ConfigError } from '../../config/errors.js';

const schema = z.strictObject({
  template: z.string().regex(/^\//, 'must start with /').describe('new path (and optional query) relative to the backend URL; {name} inserts a path parameter of the operation'),
  'copy-unmatched-params': z.boolean().default(true).describe("keep the request's query parameters (those the template does not set)"),
});

/** Parameter values are re-encoded for the path so a decoded `/` can never add a segment. */
export const rewriteUri = definePolicy({
  name: 'rewrite-uri',
  sections: ['inbound', 'backend'],
  capabilities: { phase: 'pipeline', requires: ['operation'] },
  description: "Rewrites the path sent to the backend from a template over the operation's path parameters.",
  example: `- rewrite-uri: { template: "/v2/orders/{id}" }`,
  schema,
  create(config, ctx) {
    const q = config.template.indexOf('?');
    const pathT = q === -1 ? config.template : config.template.slice(0, q);
    const queryT = q === -1 ? '' : config.template.slice(q + 1);
    const known = new Set((ctx.operation?.template.match(/\{([^}]+)\}/g) ?? []).map((m) => m.slice(1, -1)));
    const parts: Array<string | { param: string }> = [];
    const re = /\{([^}]+)\}/g;
    let last = 0;
    for (let m = re.exec(pathT); m; m = re.exec(pathT)) {
      if (m.index > last) parts.push(pathT.slice(last, m.index));
      if (!ctx.operation) throw new ConfigError(`{${m[1]}}: path parameters need an operation; put rewrite-uri on an operation`, ['template']);
      if (!known.has(m[1]!)) throw new ConfigError(`{${m[1]}} is not a parameter of ${ctx.operation.method} ${ctx.operation.template}`, ['template']);
      parts.push({ param: m[1]! });
      last = m.index + m[0].length;
    }
    if (last < pathT.length) parts.push(pathT.slice(last));
    const copy = config['copy-unmatched-params'];
    const setNames = new Set(queryT ? [...new URLSearchParams(queryT).keys()] : []);
    return (ex) => {
      let p = '';
      for (const part of parts) p += typeof part === 'string' ? part : encodeURIComponent(ex.params[part.param] ?? '');
      ex.backendPath = p;
      if (queryT || !copy) {
        let query = queryT;
        if (copy && ex.query) {
          const kept = new URLSearchParams(ex.query);
          for (const n of setNames) kept.delete(n);
          const rest = kept.toString();
          if (rest) query = query ? `${query}&${rest}` : rest;
        }
        ex.backendQuery = query;
      }
      return undefined;
    };
  },
});
