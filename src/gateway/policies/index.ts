import type { PolicyDefinition } from '../policy.js';

/**
 * The registry: the one place policies are listed. Config validation, the pipeline compiler and
 * the generated policy reference (docs/policies.md) all read it.
 */
export const POLICIES: readonly PolicyDefinition[] = [
];

export const POLICY_BY_NAME: ReadonlyMap<string, PolicyDefinition> = new Map(POLICIES.map((p) => [p.name, p]));
