import { consentPage } from '../pages/consent.js';
import type { InteractionContext, InteractionStep } from './step.js';

/**
 * Consent: a first-party client gets what it asks for without a page; a third-party client's
 * user sees what the scopes asked for let the client do (their descriptions) and allows or denies (deny is the shared `abort`).
 */
export const consent: InteractionStep = {
  name: 'consent',
  prompt: (builtIn) => builtIn.get('consent')!,
  async show(ctx) {
    if (ctx.client?.gatehouse_first_party !== false) return grant(ctx);
    const missing = ctx.details.prompt.details;
    const resources = Object.entries(missing.missingResourceScopes ?? {});
    // oidc-provider also lists an API's scope among the OpenID scopes asked for: describe it once, with its API
    const ofApis = new Set(resources.flatMap(([, scopes]) => scopes));
    const items = [
      ...(missing.missingOIDCScope ?? []).filter((s) => !ofApis.has(s)).map((s) => ctx.describeScope(s)),
      ...resources.flatMap(([api, scopes]) => scopes.map((s) => ctx.describeScope(s, api))),
    ];
    ctx.send(200, consentPage(ctx.page, { action: `${ctx.self}/confirm`, abort: ctx.links.abort, csrf: ctx.csrf(), clientName: ctx.clientName, items }));
  },
  actions: { confirm: (ctx) => grant(ctx) },
};

/** grant what the prompt found missing, and finish the step */
async function grant({ provider, details, req, res }: InteractionContext): Promise<void> {
  const { prompt: { details: missing }, params, session } = details;
  const g = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: session?.accountId, clientId: params.client_id });
  if (!g) throw new Error('the grant of this interaction is gone');
  if (missing.missingOIDCScope) g.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) g.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) g.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await g.save();
  return provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
}
