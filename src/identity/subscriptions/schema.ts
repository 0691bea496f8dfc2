import { z } from 'zod';
import { duration } from '../../config/units.js';

/** gatehouse.yaml `subscriptions`: where subscriptions are kept and how gateways follow changes. */
export const subscriptionsSchema = z.strictObject({
  database: z.string().regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'use sqlite:./path/to/file.db or postgres://user@host/db').optional()
    .describe('the identity database that holds subscriptions (default: `identity.database` of this file). Every gateway process that checks keys and the process that serves the management API must name the same one'),
  'poll-interval': duration({ min: 0.05, max: 60 }).default(0.25)
    .describe('how often a gateway process checks the database for changed subscriptions (one indexed query). With PostgreSQL, LISTEN/NOTIFY also wakes it at once, and so does Redis pub/sub when `gateway.store` is a Redis (the management API publishes each change); polling is the fallback'),
  'query-timeout': duration({ min: 0.1, max: 60 }).default(2)
    .describe('the longest a refresh waits for the database; then the gateway keeps serving the last known subscriptions and /readyz says so'),
}).describe('subscription storage: the identity database (SQLite or PostgreSQL), cached in every gateway process');
export type SubscriptionsConfig = z.output<typeof subscriptionsSchema>;
