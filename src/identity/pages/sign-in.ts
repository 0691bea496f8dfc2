import { clientIp } from '../client-ip.js';
import { loginResult } from '../connectors/connector.js';
import type { PasswordConnector } from '../connectors/password.js';
import type { InteractionContext, PromptHandler } from '../steps/step.js';
import { queryOf, waitText } from './kit.js';
import { alert, csrfField, esc, layout, type PageContext } from './layout.js';

export function signInPage(ctx: PageContext, o: { action: string; csrf: string; login?: string; error?: string; info?: string; clientName?: string; signUp?: string; reset: string; abort: string }): string {
  const describedBy = o.error ? ' aria-describedby="form-error"' : '';
  return layout(ctx, 'Sign in', `<h1>Sign in</h1>
<p class="lead">${o.clientName ? `to continue to ${esc(o.clientName)}` : 'with your account'}</p>
${alert(o.error)}${alert(o.info, 'info', 'form-info')}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<label for="login">Username or email</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${esc(o.login)}"${describedBy}${o.login ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}${o.login ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">Cancel</button></form>
<nav class="links" aria-label="Account help">
<a href="${esc(o.reset)}">Forgot your password?</a>
${o.signUp ? `<a href="${esc(o.signUp)}">Create an account</a>` : ''}
</nav>`);
}

/**
 * The sign-in page: oidc-provider's `login` prompt. The form signs in with the password
 * connector; every refusal but a rate limit gets one message (unknown account, wrong password,
 * locked, disabled, unverified), so the page does not tell which.
 */
export function signIn(password: PasswordConnector): PromptHandler {
  const form = (ctx: InteractionContext, o: { login?: string; error?: string; info?: string } = {}) => signInPage(ctx.page, {
    action: `${ctx.self}/login`, csrf: ctx.csrf(), clientName: ctx.clientName, ...ctx.links, ...o,
  });
  return {
    name: 'login',
    async show(ctx) {
      const info = queryOf(ctx.req).get('created') ? 'Your account was created. Sign in to continue.' : undefined;
      ctx.send(200, form(ctx, { info }));
    },
    actions: {
      async login(ctx, posted) {
        const { req, res, details } = ctx;
        const login = posted.get('login') ?? '';
        const result = await password.verify({ login, password: posted.get('password') ?? '' }, { ip: clientIp(req), via: 'sign-in-page', clientId: details.params.client_id });
        if (!result.ok && result.reason === 'rate-limited') {
          res.setHeader('retry-after', String(result.retryAfter ?? 60));
          return ctx.send(429, form(ctx, { login: login.slice(0, 320), error: `Too many failed sign-ins from your network. Try again in ${waitText(result.retryAfter ?? 60)}.` }));
        }
        if (!result.ok) return ctx.send(200, form(ctx, { login: login.slice(0, 320), error: 'The username or password is incorrect, or the account is temporarily locked.' }));
        return ctx.provider.interactionFinished(req, res, { login: loginResult(result.identity) }, { mergeWithLastSubmission: false });
      },
    },
  };
}
