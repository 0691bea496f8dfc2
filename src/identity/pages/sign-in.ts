import { clientIp } from '../client-ip.js';
import { federatedLogin, loginResult, type VerifiedIdentity } from '../connectors/connector.js';
import type { PasswordConnector } from '../connectors/password.js';
import { UpstreamUnavailable, type Decision, type Federation } from '../federation/index.js';
import type { InteractionContext, PromptHandler } from '../steps/step.js';
import { connectorButtons, handOff, linkPage } from './federation.js';
import type { PasskeyLogin } from './passkey-sign-in.js';
import { queryOf, waitText } from './kit.js';
import { rememberedLogin } from './sign-up.js';
import { acrOf } from '../mfa/policy.js';
import { alert, csrfField, esc, layout, type PageContext } from './layout.js';
import type { MessageKey } from '../i18n/index.js';

export function signInPage(ctx: PageContext, o: { action: string; csrf: string; login?: string; error?: string; invalid?: boolean; info?: string; clientName?: string; signUp?: string; reset: string; abort: string; federate?: string; connectors?: ReadonlyArray<{ id: string; displayName: string; icon?: string }>; passkey?: string }): string {
  // a refused username and password: both fields marked and linked to the message
  const describedBy = o.error ? ` aria-describedby="form-error"${o.invalid ? ' aria-invalid="true"' : ''}` : '';
  return layout(ctx, ctx.text('sign-in.title'), `<h1>${ctx.t('sign-in.title')}</h1>
<p class="lead">${o.clientName ? ctx.t('sign-in.lead-client', { client: o.clientName }) : ctx.t('sign-in.lead')}</p>
${alert(o.error)}${alert(o.info, 'info', 'form-info')}
<form method="post" action="${esc(o.action)}" novalidate>
${csrfField(o.csrf)}
<label for="login">${ctx.t('sign-in.login')}</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${esc(o.login)}"${describedBy}${o.login ? '' : ' autofocus'}>
<label for="password">${ctx.t('common.password')}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}${o.login ? ' autofocus' : ''}>
<button type="submit">${ctx.t('sign-in.submit')}</button>
</form>
${o.passkey ?? ''}
${o.federate ? connectorButtons(ctx, o.federate, o.csrf, o.connectors ?? []) : ''}
<form method="post" action="${esc(o.abort)}">${csrfField(o.csrf)}<button type="submit" class="secondary">${ctx.t('common.cancel')}</button></form>
<nav class="links" aria-label="${ctx.t('nav.account-help')}">
<a href="${esc(o.reset)}">${ctx.t('sign-in.forgot')}</a>
${o.signUp ? `<a href="${esc(o.signUp)}">${ctx.t('sign-in.sign-up')}</a>` : ''}
</nav>`);
}

type FormText = { login?: string; error?: string; invalid?: boolean; info?: string };

/** what a refused federated sign-in tells the user, by the reason federation/index.ts gives */
const REFUSALS: Record<string, MessageKey> = {
  disabled: 'federation.refused.disabled', 'not-linked': 'federation.refused.not-linked', 'account-exists': 'federation.refused.account-exists',
  race: 'federation.refused.race', 'linked-elsewhere': 'federation.refused.linked-elsewhere',
};
const refusal = (ctx: InteractionContext, d: Decision & { kind: 'refused' }, connector: string) =>
  (Object.hasOwn(REFUSALS, d.reason) ? ctx.page.text(REFUSALS[d.reason]!, { connector }) : d.message);

const metaOf = (ctx: InteractionContext, via: string) => ({ ip: clientIp(ctx.req), via, clientId: ctx.details.params.client_id });

/** finish a federated sign-in as the decision says, or show why not */
async function settleFederated(ctx: InteractionContext, federation: Federation, form: (ctx: InteractionContext, o: FormText) => string, identity: VerifiedIdentity, decision: Decision, connectorName: string): Promise<void> {
  if (decision.kind === 'refused') return ctx.send(200, form(ctx, { error: refusal(ctx, decision, connectorName) }));
  if (decision.kind === 'confirm') {
    const h = await federation.awaitConfirmation(identity, decision.user, ctx.details.uid);
    return ctx.send(200, linkPage(ctx.page, { action: `${ctx.self}/link`, abort: ctx.links.abort, csrf: ctx.csrf(), handle: h, connector: connectorName, account: decision.user.email ?? decision.user.username ?? '' }));
  }
  await federation.signedIn(identity, decision, metaOf(ctx, 'federation'));
  return ctx.provider.interactionFinished(ctx.req, ctx.res, { login: withAcr(federatedLogin(identity, decision.user.id)) }, { mergeWithLastSubmission: false });
}

/**
 * The sign-in page: oidc-provider's `login` prompt. The form signs in with the password
 * connector; every refusal but a rate limit gets one message (unknown account, wrong password,
 * locked, disabled, unverified), so the page does not tell which. With `identity.federation`,
 * one button per connector begins a sign-in there (or the authorization request's `idp_hint`
 * does it at once); the answer comes back through the callback to this page, which decides the
 * account (federation/index.ts) and finishes the sign-in, or asks the owner of an existing
 * account to confirm the link with its password.
 */
export function signIn(password: PasswordConnector, federation?: Federation, passkey?: PasskeyLogin): PromptHandler {
  const connectors = federation?.connectors.map((c) => ({ id: c.config.id, displayName: c.config.displayName, icon: federation.iconPath(c.config.id) })) ?? [];
  const form = (ctx: InteractionContext, o: FormText = {}, passkeyHtml?: string) => signInPage(ctx.page, {
    action: `${ctx.self}/login`, csrf: ctx.csrf(), clientName: ctx.clientName, ...ctx.links, ...o,
    federate: connectors.length ? `${ctx.self}/federate` : undefined, connectors, passkey: passkeyHtml,
  });
  /** the form with the passkey button when passkeys are on (its page allows the passkey script) */
  const page = async (ctx: InteractionContext, status: number, o: FormText = {}) => {
    const p = passkey ? await passkey.form(ctx) : undefined;
    if (p) ctx.res.setHeader('content-security-policy', p.csp);
    ctx.send(status, form(ctx, o, p?.html));
  };
  const settle = (ctx: InteractionContext, identity: VerifiedIdentity, decision: Decision, connectorName: string) => settleFederated(ctx, federation!, form, identity, decision, connectorName);

  /** send the browser to connector `id`; an upstream that cannot begin (down, refusing us) is said on the sign-in page */
  async function beginAt(ctx: InteractionContext, id: string, hint = loginHint(ctx)): Promise<void> {
    try {
      return handOff(ctx.page, ctx.res, await federation!.begin(ctx.req, ctx.res, id, ctx.details.uid, hint));
    } catch (err) {
      if (!(err instanceof UpstreamUnavailable)) throw err;
      return ctx.send(502, form(ctx, { error: ctx.page.text('federation.unavailable', { connector: err.displayName }) }));
    }
  }

  return {
    name: 'login',
    async show(ctx) {
      const query = queryOf(ctx.req);
      const handle = query.get('federation');
      if (federation && handle) {
        const o = await federation.outcome(ctx.req, handle, ctx.details.uid);
        if (!o) return ctx.send(200, form(ctx, { error: ctx.page.text('sign-in.expired') }));
        if (!o.identity) return ctx.send(200, form(ctx, { error: ctx.page.text('sign-in.federation-failed', { connector: o.connector.config.displayName }) }));
        return settle(ctx, o.identity, await federation.decide(o.identity), o.connector.config.displayName);
      }
      const hinted = federation && hintedConnector(federation, ctx.details.params);
      if (hinted) return beginAt(ctx, hinted);
      const info = query.get('created') ? ctx.page.text('sign-in.created') : undefined;
      // the name the user signed up with, or the client's login_hint: the form starts with it
      return page(ctx, 200, { info, login: rememberedLogin(ctx.req) ?? loginHint(ctx) });
    },
    actions: {
      async login(ctx, posted) {
        const { req, res, details } = ctx;
        const login = posted.get('login') ?? '';
        // an address of a home realm signs in at its connector: no password is checked here
        const realm = federation?.forEmail(login.trim());
        if (realm) return beginAt(ctx, realm.config.id, login.trim());
        const result = await password.verify({ login, password: posted.get('password') ?? '' }, { ip: clientIp(req), via: 'sign-in-page', clientId: details.params.client_id });
        if (!result.ok && result.reason === 'rate-limited') {
          res.setHeader('retry-after', String(result.retryAfter ?? 60));
          return ctx.send(429, form(ctx, { login: login.slice(0, 320), error: ctx.page.text('sign-in.rate-limited', { wait: waitText(ctx.page, result.retryAfter ?? 60) }) }));
        }
        if (!result.ok) return page(ctx, 200, { login: login.slice(0, 320), error: ctx.page.text('sign-in.refused'), invalid: true });
        return ctx.provider.interactionFinished(req, res, { login: withAcr(loginResult(result.identity)) }, { mergeWithLastSubmission: false });
      },
      async passkey(ctx, posted) {
        const login = passkey ? await passkey.verify(ctx, posted) : undefined;
        if (!login) return page(ctx, 200, { error: ctx.page.text('sign-in.passkey-failed') });
        return ctx.provider.interactionFinished(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false });
      },
      async federate(ctx, posted) {
        const id = posted.get('connector') ?? '';
        if (!federation?.get(id)) return ctx.send(400, form(ctx, { error: ctx.page.text('sign-in.connector-unavailable') }));
        return beginAt(ctx, id);
      },
      async link(ctx, posted) {
        const pending = federation ? await federation.pendingLink(posted.get('handle') ?? '', ctx.details.uid) : undefined;
        if (!pending) return ctx.send(200, form(ctx, { error: ctx.page.text('sign-in.expired') }));
        const { user, identity, connector } = pending;
        const r = await password.verify({ login: user.email ?? user.username ?? '', password: posted.get('password') ?? '' }, metaOf(ctx, 'federation-link'));
        if (!r.ok || r.identity.accountId !== user.id) {
          if (r.ok === false && r.reason === 'rate-limited') ctx.res.setHeader('retry-after', String(r.retryAfter ?? 60));
          const h = await federation!.awaitConfirmation(identity, user, ctx.details.uid);
          return ctx.send(r.ok === false && r.reason === 'rate-limited' ? 429 : 200, linkPage(ctx.page, {
            action: `${ctx.self}/link`, abort: ctx.links.abort, csrf: ctx.csrf(), handle: h, connector: connector.config.displayName,
            account: user.email ?? user.username ?? '', error: ctx.page.text('link.refused'),
          }));
        }
        return settle(ctx, identity, await federation!.linkAndLogin(identity, user), connector.config.displayName);
      },
    },
  };
}

/**
 * The connector an authorization request names, which skips the chooser: `idp_hint` (a
 * connector id), else home-realm discovery by `domain_hint` or the domain of a `login_hint` address.
 */
function hintedConnector(federation: Federation, params: Record<string, unknown>): string | undefined {
  const { idp_hint: idp, domain_hint: domain, login_hint: login } = params;
  if (typeof idp === 'string' && federation.get(idp)) return idp;
  const realm = (typeof domain === 'string' && domain.length <= 253 ? federation.forDomain(domain) : undefined)
    ?? (typeof login === 'string' ? federation.forEmail(login) : undefined);
  return realm?.config.id;
}

/** a login result with the `acr` its `amr` reached (one factor here; steps/mfa.ts adds the second) */
const withAcr = (login: { accountId: string; amr: string[] }) => ({ ...login, acr: acrOf(login.amr) });

/** the authorization request's login_hint, passed on to the upstream */
function loginHint(ctx: InteractionContext): string | undefined {
  const h = ctx.details.params.login_hint;
  return typeof h === 'string' && h.length <= 320 ? h : undefined;
}
