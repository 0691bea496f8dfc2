import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { keyFromPem, type VerifyKey } from '../../gateway/jwt/keys.js';

/**
 * The signing key of a test run: an ES256 key pair generated for the run (never stored), whose
 * public half stands in for the issuer's keys, and which signs the tokens the cases describe.
 */
export interface TestSigner {
  issuer: string;
  /** the public key, bound to `issuer` */
  key: VerifyKey;
  sign(claims: Record<string, unknown>, expiresIn: number): Promise<string>;
}

export async function testSigner(issuer: string): Promise<TestSigner> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const kid = `gatehouse-test-${randomUUID().slice(0, 8)}`;
  const key: VerifyKey = { ...keyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string, { kid, alg: 'ES256' }), issuer };
  return {
    issuer,
    key,
    async sign(claims, expiresIn) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = { iss: issuer, iat: now, exp: now + expiresIn, ...claims };
      // null leaves a claim out (a token without exp, say)
      for (const [k, v] of Object.entries(payload)) if (v === null) delete payload[k];
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey);
    },
  };
}
