import { z } from 'zod';
import { definePolicy } from '../policy.js';
import { ConfigError } from '../../config/errors.js';

const schema = z.strictObject({
  'backend-id': z.string().describe('name of a backend in `backends`'),
});

export const setBackendService = definePolicy({
  name: 'set-backend-service',
  sections: ['inbound', 'backend'],
  capabilities: { phase: 'pipeline' },
  description: 'Sends the request to another declared backend (for example per operation, or after a check).',
  example: `- set-backend-service: { backend-id: orders-v2 }`,
  schema,
  create(config, ctx) {
    const backend = ctx.backend(config['backend-id']);
    if (!backend) throw new ConfigError(`no backend named "${config['backend-id']}" in backends`, ['backend-id']);
    return (ex) => {
      ex.backend = backend;
      return undefined;
    };
  },
});
