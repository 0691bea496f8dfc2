import type { PolicyDefinition } from '../policy.js';
import { rateLimitByKey } from './rate-limit-by-key.js';
import { quotaByKey } from './quota-by-key.js';

/**
 * The registry: the one place policies are listed. Config validation, the pipeline compiler and
 * the generated policy reference (docs/policies.md) all read it.
 */
export const POLICIES: readonly PolicyDefinition[] = [
  rateLimitByKey as PolicyDefinition,
  quotaByKey as PolicyDefinition,
];

export const POLICY_BY_NAME: ReadonlyMap<string, PolicyDefinition> = new Map(POLICIES.map((p) => [p.name, p]));
