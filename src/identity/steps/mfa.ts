import { clientIp } from '../client-ip.js';
import { ACR, withFactor } from '../mfa/policy.js';
import type { Mfa } from '../mfa/index.js';
import type { UserStore } from '../accounts.js';
import type { OidcInteractionPolicy } from '../provider/oidc.js';
import { recoveryCodesPage } from '../pages/mfa.js';
import { errorPage } from '../pages/error.js';
import { waitText } from '../pages/kit.js';
import { mfaViews } from './mfa-views.js';
import type { InteractionContext, InteractionStep } from './step.js';

/**
 * The second factor, after sign-in and before consent: due when the policy of the client and
 * of the APIs asked for says so, or `acr_values` asks for it (step-up, also over an existing
 * session). An account with a factor uses it: a code of its authenticator app, a passkey, or a
 * recovery code. One without, where a second factor is required, enrols an app (its first code
 * confirms it) or a passkey first, and is shown its recovery codes once. Finishing signs the
 * session in again with the factor added to `amr` and the multi-factor `acr`, which the tokens
 * carry.
 */
export function mfaStep(mfa: Mfa, users: UserStore, policy: OidcInteractionPolicy): InteractionStep {
  const { Prompt, Check } = policy;
  const finish = (ctx: InteractionContext, factor: string) => {
    const s = ctx.details.session!;
    return { login: { accountId: s.accountId, amr: withFactor(s.amr, factor), acr: ACR.multi } };
  };
  const { challenge, enrol, refused } = mfaViews(mfa, users);
  /** the account of the interaction, else the page says the step is over */
  const account = (ctx: InteractionContext) => {
    const id = ctx.details.session?.accountId;
    if (!id) ctx.send(400, errorPage(ctx.page, { message: ctx.page.text('interaction.stale'), code: 'interaction-step' }));
    return id;
  };
  async function verify(ctx: InteractionContext, form: URLSearchParams, kind: 'totp' | 'recovery' | 'email') {
    const id = account(ctx);
    if (!id) return;
    const code = (form.get('code') ?? '').slice(0, 64);
    const ip = clientIp(ctx.req);
    const r = kind === 'totp' ? await mfa.verifyTotp(id, ip, code) : kind === 'email' ? await mfa.verifyEmailCode(id, ip, code) : await mfa.verifyRecoveryCode(id, ip, code);
    if (!r.ok) return refused(ctx, id, r, kind === 'email');
    return ctx.provider.interactionFinished(ctx.req, ctx.res, finish(ctx, 'otp'), { mergeWithLastSubmission: true });
  }
  /** enrolled: the recovery codes once (when this enrolment made them), then on to the client */
  async function enrolled(ctx: InteractionContext, factor: string, codes: readonly string[] | undefined) {
    if (!codes) return ctx.provider.interactionFinished(ctx.req, ctx.res, finish(ctx, factor), { mergeWithLastSubmission: true });
    const next = await ctx.provider.interactionResult(ctx.req, ctx.res, finish(ctx, factor), { mergeWithLastSubmission: true });
    ctx.send(200, recoveryCodesPage(ctx.page, { codes, next }));
  }

  return {
    name: 'mfa',
    prompt: () => new Prompt({ name: 'mfa', requestable: false },
      new Check('mfa_required', 'a second factor is required', async (ctx) => ((await mfa.due(ctx)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT))),
    async show(ctx) {
      const id = account(ctx);
      if (!id) return;
      return (await mfa.enrolled(id)) ? challenge(ctx, id, 200) : enrol(ctx, id, 200);
    },
    actions: {
      totp: (ctx, form) => verify(ctx, form, 'totp'),
      recovery: (ctx, form) => verify(ctx, form, 'recovery'),
      email: (ctx, form) => verify(ctx, form, 'email'),
      async 'email-send'(ctx) {
        const id = account(ctx);
        if (!id) return;
        const sent = await mfa.sendEmailCode(id, clientIp(ctx.req), ctx.page.fixed());
        return challenge(ctx, id, 200, sent ? undefined : ctx.page.text('mfa.email-unavailable'), sent);
      },
      async passkey(ctx, form) {
        const id = account(ctx);
        if (!id) return;
        const signedIn = mfa.passkeysOn && await mfa.passkeys.authenticate(ctx.details.uid, form.get('response') ?? '', id);
        if (signedIn !== id) return challenge(ctx, id, 200, ctx.page.text('mfa.passkey-failed'));
        return ctx.provider.interactionFinished(ctx.req, ctx.res, finish(ctx, 'hwk'), { mergeWithLastSubmission: true });
      },
      async enrol(ctx, form) {
        const id = account(ctx);
        if (!id) return;
        // an account with a factor uses it: a second one is added in the account console, not here
        if (await mfa.enrolled(id)) return challenge(ctx, id, 200);
        const r = await mfa.confirmEnrolment(id, clientIp(ctx.req), (form.get('code') ?? '').slice(0, 64));
        if (!r.ok && r.reason === 'enrolled') return challenge(ctx, id, 200);
        if (!r.ok) {
          if (r.reason === 'rate-limited') ctx.res.setHeader('retry-after', String(r.retryAfter ?? 60));
          return enrol(ctx, id, r.reason === 'rate-limited' ? 429 : 200, r.reason === 'rate-limited' ? ctx.page.text('mfa.rate-limited', { wait: waitText(ctx.page, r.retryAfter ?? 60) }) : ctx.page.text('mfa.enrol.wrong'));
        }
        return enrolled(ctx, 'otp', r.recoveryCodes);
      },
      async 'passkey-enrol'(ctx, form) {
        const id = account(ctx);
        if (!id) return;
        if (!mfa.passkeysOn || await mfa.enrolled(id)) return challenge(ctx, id, 200);
        const r = await mfa.enrolPasskey(ctx.details.uid, id, form.get('response') ?? '');
        if (!r.ok) return enrol(ctx, id, 200, ctx.page.text('mfa.passkey-failed'));
        return enrolled(ctx, 'hwk', r.recoveryCodes);
      },
    },
  };
}
