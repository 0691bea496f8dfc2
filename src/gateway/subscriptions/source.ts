/**
 * What the gateway needs to know of subscriptions, and nothing of where they are kept: the
 * identity store's cache (src/identity/subscriptions/cache.ts) implements it, and the app layer
 * hands it to the compiler. Keys arrive here already hashed (net/api-keys.ts).
 */

export type SubscriptionScope = 'product' | 'api' | 'all';
export type SubscriptionState = 'submitted' | 'active' | 'suspended' | 'cancelled' | 'expired';
export type OwnerType = 'user' | 'client';

/** A subscription as the gateway checks it. */
export interface SubscriptionRecord {
  readonly id: string;
  readonly scope: SubscriptionScope;
  /** the product id (scope product) or API name (scope api); undefined for scope all */
  readonly target: string | undefined;
  /** as stored; `expired` is also derived from `expiresAt` at request time */
  readonly state: SubscriptionState;
  readonly ownerType: OwnerType;
  readonly ownerId: string;
  /** epoch ms; undefined: never expires */
  readonly expiresAt: number | undefined;
  /** the subscription's display name, when it has one */
  readonly name?: string;
  /** epoch ms */
  readonly createdAt?: number;
}

export interface SubscriptionSource {
  /**
   * The subscription one of whose keys hashes to `keyHash`, after the stored hash was compared in
   * constant time; undefined when none does. `keyHashBytes`: `hashBytes(keyHash)` when the caller
   * has it already (net/api-keys.ts), so that the comparison allocates nothing.
   */
  lookup(keyHash: string, keyHashBytes?: Uint8Array): SubscriptionRecord | undefined;
  /** true once the subscriptions were loaded at least once (they are served from memory afterwards) */
  loaded(): boolean;
  /** the store could not be read on the last attempt: the gateway serves the last known state */
  stale(): { since: number; reason: string } | undefined;
}
