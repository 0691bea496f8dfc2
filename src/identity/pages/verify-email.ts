import { errorPage } from './error.js';
import { queryOf, readForm, send, type Flow } from './kit.js';
import { csrfField, esc, layout, messagePage, type PageContext } from './layout.js';

export function verifyPage(ctx: PageContext, o: { action: string; csrf: string; token: string }): string {
  return layout(ctx, ctx.text('verify.title'), `<h1>${ctx.t('verify.title')}</h1>
<p class="lead">${ctx.t('verify.lead')}</p>
<form method="post" action="${esc(o.action)}">
${csrfField(o.csrf)}
<input type="hidden" name="token" value="${esc(o.token)}">
<button type="submit">${ctx.t('verify.submit')}</button>
</form>`);
}

/** `/account/verify`: the link of the verification mail shows a button; posting it spends the link and marks the address verified. */
export const verifyEmail: Flow = async (kit, req, res, method) => {
  const action = `${kit.base}/account/verify`;
  if (method === 'GET') {
    const token = queryOf(req).get('token') ?? '';
    return send(res, 200, verifyPage(kit.page, { action, csrf: kit.csrf.token(req, res), token }));
  }
  const form = await readForm(req);
  kit.csrf.check(req, form);
  const userId = await kit.users.consumeAccountToken(form.get('token') ?? '', 'verify-email');
  if (!userId) return send(res, 400, errorPage(kit.page, { title: kit.page.text('verify.link-title'), message: kit.page.text('verify.link-invalid'), code: 'link-invalid' }));
  await kit.users.setEmailVerified(userId);
  kit.logger.info({ audit: 'email.verified', sub: userId }, 'email verified');
  return send(res, 200, messagePage(kit.page, kit.page.text('verify.done-title'), kit.page.text('verify.done'), { href: `${kit.base}/account`, text: kit.page.text('common.to-account') }));
};
