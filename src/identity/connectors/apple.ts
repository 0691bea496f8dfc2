import { createPrivateKey, sign } from 'node:crypto';
import type * as client from 'openid-client';
import type { ClientKey } from './oidc.js';

/**
 * Sign in with Apple's client secret: not a shared secret but a JWT (ES256) signed with the key
 * made for Sign in with Apple — `kid` its Key ID, `iss` the Team ID, `sub` the Services ID
 * (our client id), `aud` Apple. Made here, fresh for each token request (valid 5 minutes; Apple
 * allows up to six months), and sent as client_secret_post: nothing to renew by hand.
 */

const APPLE_AUDIENCE = 'https://appleid.apple.com';
const LIFETIME = 300;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** the client secret JWT at `now` (seconds) */
export function appleClientSecret(key: ClientKey, teamId: string, clientId: string, now = Math.floor(Date.now() / 1000)): string {
  const input = `${b64({ alg: 'ES256', kid: key.kid })}.${b64({ iss: teamId, iat: now, exp: now + LIFETIME, aud: APPLE_AUDIENCE, sub: clientId })}`;
  const signature = sign('sha256', Buffer.from(input), { key: createPrivateKey(key.pem), dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** openid-client client authentication that posts a fresh Apple client secret */
export function appleClientAuth(key: ClientKey, teamId: string): client.ClientAuth {
  return (_as, meta, body) => {
    body.set('client_id', meta.client_id);
    body.set('client_secret', appleClientSecret(key, teamId, meta.client_id));
  };
}
