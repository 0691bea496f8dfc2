import type { VerifyKey } from './keys.js';

/** Where a validator finds keys besides its configured ones: an OpenID Provider's JWKS (remote-source.ts), or fixed keys. */
export interface KeySource {
  /** keys can verify tokens now */
  readonly available: boolean;
  /** keys whose kid is `kid`, or every key when `kid` is undefined */
  lookup(kid: string | undefined): readonly VerifyKey[];
  /** a token named a kid this source does not have: look again (bounded); never rejects */
  refreshForUnknownKid(kid?: string): Promise<void>;
}

/**
 * Keys that stand in for an issuer's in `gatehouse test` (policy tests sign their tokens with a
 * key generated for the run). Set through RuntimeDeps.standInKeys, which only the test runner
 * gives: a config cannot name it and `gatehouse start` never sets it.
 */
export interface StandInKeys {
  /** the issuer whose keys they replace: a validate-jwt that accepts this issuer uses them instead of fetching */
  issuer: string;
  /** public keys, each bound to `issuer` */
  keys: readonly VerifyKey[];
}

/** A source of fixed keys, always available. */
export function fixedKeySource(keys: readonly VerifyKey[]): KeySource {
  return {
    available: keys.length > 0,
    lookup: (kid) => (kid === undefined ? keys : keys.filter((k) => k.kid === kid)),
    refreshForUnknownKid: () => Promise.resolve(),
  };
}
