import { errorPage } from './error.js';
import { queryOf, readForm, send, type Flow } from './kit.js';
import { csrfField, esc, layout, messagePage, type PageContext } from './layout.js';

export function verifyPage(ctx: PageContext, o: { action: string; csrf: string; token: string }): string {
  return layout(ctx, 'Verify your email', `<h1>Verify your email</h1>
<p class="lead">Confirm that this email address belongs to you.</p>
<form method="post" action="${esc(o.action)}">
${csrfField(o.csrf)}
<input type="hidden" name="token" value="${esc(o.token)}">
<button type="submit">Verify email address</button>
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
  if (!userId) return send(res, 400, errorPage(kit.page, { title: 'Link expired', message: 'This verification link is invalid, expired or already used.', code: 'link-invalid' }));
  await kit.users.setEmailVerified(userId);
  kit.logger.info({ audit: 'email.verified', sub: userId }, 'email verified');
  return send(res, 200, messagePage(kit.page, 'Email verified', 'Thank you: your email address is verified.', { href: `${kit.base}/account`, text: 'Go to your account' }));
};
