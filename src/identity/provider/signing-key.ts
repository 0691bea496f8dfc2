import { constants, createPrivateKey, createPublicKey, sign as cryptoSign, type JsonWebKey, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { JWK } from 'jose';
import type { ExternalSigningKey } from 'oidc-provider';

/**
 * Keys that sign on libuv's thread pool (crypto.sign with a callback) instead of the event loop:
 * RSA signing is the largest single cost of a token, and this lets a second core take it.
 * `Base` is oidc-provider's ExternalSigningKey (loaded lazily, with oidc-provider).
 */
export function poolSigningKeys(Base: typeof ExternalSigningKey, jwks: JWK[]): ExternalSigningKey[] {
  class PoolSigningKey extends Base {
    readonly #pub: KeyObject;
    readonly #opts: SignKeyObjectInput;
    constructor(jwk: JWK) {
      super();
      this.kid = jwk.kid!;
      this.alg = jwk.alg!;
      const priv = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
      this.#pub = createPublicKey(priv);
      this.#opts = jwk.alg === 'PS256' ? { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : jwk.alg === 'ES256' ? { key: priv, dsaEncoding: 'ieee-p1363' } : { key: priv };
    }
    override keyObject() { return this.#pub; }
    override sign(data: Buffer): Promise<Buffer> {
      return new Promise((res, rej) => cryptoSign('sha256', data, this.#opts, (err, sig) => (err ? rej(err) : res(sig))));
    }
  }
  return jwks.map((k) => new PoolSigningKey(k));
}
