import { clientIp } from '../client-ip.js';
import { ACR, withFactor } from '../mfa/policy.js';
import type { Mfa } from '../mfa/index.js';
import type { CodeOutcome } from '../mfa/guard.js';
import type { UserStore } from '../accounts.js';
import type { OidcInteractionPolicy } from '../provider/oidc.js';
import { challengePage, enrolPage, recoveryCodesPage } from '../pages/mfa.js';
import { errorPage } from '../pages/error.js';
import { waitText } from '../pages/kit.js';
import type { InteractionContext, InteractionStep } from './step.js';

const WRONG = 'That code did not work. Check the code and try again; after several wrong codes, two-step verification is locked for a while.';

/**
 * The second factor, after sign-in and before consent: due when the policy of the client and
 * of the APIs asked for says so, or `acr_values` asks for it (step-up, also over an existing
 * session). An account with an authenticator app types its code (or spends a recovery code);
 * one without, where a second factor is required, enrols an app first (its first code confirms
 * it) and is shown its recovery codes once. Finishing signs the session in again with the
 * factor added to `amr` and the multi-factor `acr`, which the tokens carry.
 */
export function mfaStep(mfa: Mfa, users: UserStore, policy: OidcInteractionPolicy): InteractionStep {
  const { Prompt, Check } = policy;
  const accountOf = (ctx: InteractionContext) => ctx.details.session?.accountId;
  const finish = (ctx: InteractionContext, factor: string) => {
    const s = ctx.details.session!;
    return { login: { accountId: s.accountId, amr: withFactor(s.amr, factor), acr: ACR.multi } };
  };
  const challenge = (ctx: InteractionContext, status: number, error?: string) => ctx.send(status, challengePage(ctx.page, {
    totp: `${ctx.self}/totp`, recovery: `${ctx.self}/recovery`, abort: ctx.links.abort, csrf: ctx.csrf(), clientName: ctx.clientName, error,
  }));
  async function enrol(ctx: InteractionContext, status: number, error?: string) {
    const id = accountOf(ctx)!;
    const u = await users.get(id);
    const account = u?.email ?? u?.username ?? id;
    const e = await mfa.beginEnrolment(id, account);
    if (!e) return challenge(ctx, status, error);
    ctx.send(status, enrolPage(ctx.page, { action: `${ctx.self}/enrol`, abort: ctx.links.abort, csrf: ctx.csrf(), qr: e.qr, secret: e.secret, account, clientName: ctx.clientName, error }));
  }
  /** a refused code: the page again, with why */
  function refused(ctx: InteractionContext, r: CodeOutcome & { ok: false }) {
    if (r.reason === 'rate-limited') {
      ctx.res.setHeader('retry-after', String(r.retryAfter ?? 60));
      return challenge(ctx, 429, `Too many wrong codes from your network. Try again in ${waitText(r.retryAfter ?? 60)}.`);
    }
    if (r.reason === 'locked') return challenge(ctx, 200, 'Two-step verification is locked for a while after too many wrong codes. Try again later.');
    return challenge(ctx, 200, WRONG);
  }
  async function verify(ctx: InteractionContext, form: URLSearchParams, kind: 'totp' | 'recovery') {
    const id = accountOf(ctx);
    if (!id) return ctx.send(400, errorPage(ctx.page, { message: 'This step of sign-in is no longer current. Go back and try again.', code: 'interaction-step' }));
    const code = (form.get('code') ?? '').slice(0, 64);
    const r = kind === 'totp' ? await mfa.verifyTotp(id, clientIp(ctx.req), code) : await mfa.verifyRecoveryCode(id, clientIp(ctx.req), code);
    if (!r.ok) return refused(ctx, r);
    return ctx.provider.interactionFinished(ctx.req, ctx.res, finish(ctx, 'otp'), { mergeWithLastSubmission: true });
  }

  return {
    name: 'mfa',
    prompt: () => new Prompt({ name: 'mfa', requestable: false },
      new Check('mfa_required', 'a second factor is required', async (ctx) => ((await mfa.due(ctx)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT))),
    async show(ctx) {
      const id = accountOf(ctx);
      if (!id) return ctx.send(400, errorPage(ctx.page, { message: 'This step of sign-in is no longer current. Go back and try again.', code: 'interaction-step' }));
      if (await mfa.store.enrolled(id)) return challenge(ctx, 200);
      return enrol(ctx, 200);
    },
    actions: {
      totp: (ctx, form) => verify(ctx, form, 'totp'),
      recovery: (ctx, form) => verify(ctx, form, 'recovery'),
      async enrol(ctx, form) {
        const id = accountOf(ctx);
        if (!id) return ctx.send(400, errorPage(ctx.page, { message: 'This step of sign-in is no longer current. Go back and try again.', code: 'interaction-step' }));
        const r = await mfa.confirmEnrolment(id, clientIp(ctx.req), (form.get('code') ?? '').slice(0, 64));
        if (!r.ok && r.reason === 'enrolled') return challenge(ctx, 200); // confirmed meanwhile (another tab): the code is asked for as usual
        if (!r.ok) {
          if (r.reason === 'rate-limited') ctx.res.setHeader('retry-after', String(r.retryAfter ?? 60));
          return enrol(ctx, r.reason === 'rate-limited' ? 429 : 200, r.reason === 'rate-limited' ? `Too many wrong codes from your network. Try again in ${waitText(r.retryAfter ?? 60)}.` : 'That code did not match. Check that the app shows this account, and enter its current code.');
        }
        const next = await ctx.provider.interactionResult(ctx.req, ctx.res, finish(ctx, 'otp'), { mergeWithLastSubmission: true });
        ctx.send(200, recoveryCodesPage(ctx.page, { codes: r.recoveryCodes, next }));
      },
    },
  };
}
