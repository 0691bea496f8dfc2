import type { Authenticator } from '../accounts.js';
import type { CredentialsConnector } from './connector.js';

/** Password sign-in on local accounts, for the sign-in page and the password grant alike. */
export interface PasswordConnector extends CredentialsConnector {
  readonly id: 'password';
}

/**
 * The password connector: the Authenticator checks the password with smart lockout and the
 * per-client limits (see accounts.ts), and a success is the account itself, `amr: ['pwd']`.
 * A refusal keeps the Authenticator's reason (callers answer every reason but `rate-limited`
 * with one message, so nobody learns whether the account exists).
 */
export function passwordConnector(auth: Authenticator): PasswordConnector {
  return {
    id: 'password',
    type: 'password',
    flow: 'credentials',
    displayName: 'Password',
    async verify({ login, password }, meta) {
      const r = await auth.authenticate(login, password, meta);
      if (!r.ok) return r;
      const u = r.user;
      return {
        ok: true,
        identity: { connector: 'password', subject: u.id, accountId: u.id, email: u.email ?? undefined, emailVerified: u.emailVerified, claims: {}, amr: ['pwd'] },
      };
    },
  };
}
