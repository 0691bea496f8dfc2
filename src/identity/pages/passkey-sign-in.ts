import { ACR } from '../mfa/policy.js';
import type { Passkeys } from '../mfa/passkeys.js';
import { clientIp } from '../client-ip.js';
import type { InteractionContext } from '../steps/step.js';
import type { PageKit } from './kit.js';
import { passkeyCsp, passkeyForm } from './passkey.js';

/** Passwordless sign-in with a passkey, as the sign-in page offers it. */
export interface PasskeyLogin {
  /** the form for this interaction (a fresh challenge), and the CSP that allows its script */
  form(ctx: InteractionContext): Promise<{ html: string; csp: string }>;
  /** the login result of the posted answer, or undefined when it does not sign anyone in */
  verify(ctx: InteractionContext, posted: URLSearchParams): Promise<{ accountId: string; amr: string[]; acr: string } | undefined>;
}

/**
 * A discoverable passkey with user verification signs in on its own: something owned and a PIN
 * or biometric, so two factors (`amr` hwk + mfa, the multi-factor `acr`). The account must be
 * usable as for a password (not disabled; verified email when sign-up requires it).
 */
export function passkeyLogin(kit: PageKit, passkeys: Passkeys): PasskeyLogin {
  const script = `${kit.base}/assets/passkey.js`;
  return {
    async form(ctx) {
      const options = await passkeys.authenticationOptions(ctx.details.uid);
      return {
        html: passkeyForm({ action: `${ctx.self}/passkey`, csrf: ctx.csrf(), options, kind: 'get', label: ctx.page.text('sign-in.passkey'), failed: ctx.page.text('mfa.passkey-not-used'), scriptSrc: script }),
        csp: passkeyCsp(passkeys.origin + script),
      };
    },
    async verify(ctx, posted) {
      const id = await passkeys.authenticate(ctx.details.uid, posted.get('response') ?? '');
      const u = id ? await kit.users.get(id) : undefined;
      const meta = { via: 'passkey', ip: clientIp(ctx.req), client_id: ctx.details.params.client_id };
      if (!u || u.disabled || (kit.cfg['sign-up']['require-email-verification'] && u.email && !u.emailVerified)) {
        kit.logger.info({ audit: 'sign-in.failure', ...meta, sub: id, reason: u ? 'account-unusable' : 'passkey-invalid' }, 'sign-in failed');
        return undefined;
      }
      kit.logger.info({ audit: 'sign-in.success', ...meta, sub: u.id }, 'sign-in succeeded');
      return { accountId: u.id, amr: ['hwk', 'mfa'], acr: ACR.multi };
    },
  };
}
