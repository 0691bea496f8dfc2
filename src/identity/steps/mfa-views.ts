import type { UserStore } from '../accounts.js';
import type { CodeOutcome } from '../mfa/guard.js';
import type { Mfa } from '../mfa/index.js';
import { challengePage, enrolPage } from '../pages/mfa.js';
import { passkeyCsp, passkeyForm } from '../pages/passkey.js';
import { waitText } from '../pages/kit.js';
import type { InteractionContext } from './step.js';

/** an address as the page shows it: a•••@example.com */
const maskAddress = (a: string) => { const at = a.lastIndexOf('@'); return `${a.slice(0, Math.min(1, at))}•••${a.slice(at)}`; };

/**
 * The pages of the second-factor step (steps/mfa.ts): the challenge (app code, passkey,
 * recovery code: what the account has) and the enrolment (app, or a passkey instead). A page
 * with a passkey form allows the passkey script in its CSP.
 */
export function mfaViews(mfa: Mfa, users: UserStore) {
  const script = (ctx: InteractionContext) => `${ctx.page.base}/assets/passkey.js`;
  /** a page with a passkey form allows its script */
  const sendWithPasskey = (ctx: InteractionContext, status: number, html: string) => {
    ctx.res.setHeader('content-security-policy', passkeyCsp(mfa.passkeys.origin + script(ctx)));
    ctx.send(status, html);
  };

  async function challenge(ctx: InteractionContext, id: string, status: number, error?: string, emailSent = false) {
    const address = await mfa.emailOf(id);
    const email = address ? { send: `${ctx.self}/email-send`, verify: `${ctx.self}/email`, sent: emailSent, to: maskAddress(address) } : undefined;
    const passkey = mfa.passkeysOn && (await mfa.passkeys.count(id)) > 0
      ? passkeyForm({ action: `${ctx.self}/passkey`, csrf: ctx.csrf(), options: await mfa.passkeys.authenticationOptions(ctx.details.uid, id), kind: 'get', label: ctx.page.text('mfa.use-passkey'), failed: ctx.page.text('mfa.passkey-not-used'), scriptSrc: script(ctx) })
      : undefined;
    const html = challengePage(ctx.page, {
      totp: (await mfa.store.enrolled(id)) ? `${ctx.self}/totp` : undefined, recovery: `${ctx.self}/recovery`, passkey,
      abort: ctx.links.abort, csrf: ctx.csrf(), clientName: ctx.clientName, error, email,
    });
    return passkey ? sendWithPasskey(ctx, status, html) : ctx.send(status, html);
  }
  async function enrol(ctx: InteractionContext, id: string, status: number, error?: string) {
    const u = await users.get(id);
    const account = u?.email ?? u?.username ?? id;
    if (await mfa.enrolled(id)) return challenge(ctx, id, status, error);
    const e = await mfa.beginEnrolment(id, account);
    if (!e) return challenge(ctx, id, status, error);
    const passkey = mfa.passkeysOn ? passkeyForm({
      action: `${ctx.self}/passkey-enrol`, csrf: ctx.csrf(), kind: 'register', label: ctx.page.text('mfa.passkey-instead'), failed: ctx.page.text('mfa.passkey-not-used'), scriptSrc: script(ctx),
      options: await mfa.passkeys.registrationOptions(ctx.details.uid, { id, name: account }),
    }) : undefined;
    const html = enrolPage(ctx.page, { action: `${ctx.self}/enrol`, abort: ctx.links.abort, csrf: ctx.csrf(), qr: e.qr, secret: e.secret, account, clientName: ctx.clientName, error, passkey });
    return passkey ? sendWithPasskey(ctx, status, html) : ctx.send(status, html);
  }
  /** a refused code: the page again, with why */
  function refused(ctx: InteractionContext, id: string, r: CodeOutcome & { ok: false }, emailSent = false) {
    if (r.reason === 'rate-limited') {
      ctx.res.setHeader('retry-after', String(r.retryAfter ?? 60));
      return challenge(ctx, id, 429, ctx.page.text('mfa.rate-limited', { wait: waitText(ctx.page, r.retryAfter ?? 60) }), emailSent);
    }
    if (r.reason === 'locked') return challenge(ctx, id, 200, ctx.page.text('mfa.locked'), emailSent);
    return challenge(ctx, id, 200, ctx.page.text('mfa.wrong'), emailSent);
  }
  return { challenge, enrol, refused };
}
