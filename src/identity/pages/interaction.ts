import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InteractionDetails } from '../provider/oidc.js';
import type { InteractionContext, PromptHandler } from '../steps/step.js';
import { describeScope } from './consent.js';
import { accountLink, errorPage, requestIdOf } from './error.js';
import { readForm, send, type PageKit } from './kit.js';
import { useLanguage } from '../i18n/index.js';

/**
 * `/interaction/<uid>[/<action>]`: the browser's side of oidc-provider's interactions. The
 * prompt that is due picks its handler (sign-in for `login`, then the steps after it); `abort`
 * (cancel, deny) ends any of them with access_denied.
 */
export function interactions(kit: PageKit, handlers: readonly PromptHandler[]) {
  const actions = ['abort', ...new Set(handlers.flatMap((h) => Object.keys(h.actions)))];
  const pattern = new RegExp(`^/interaction/([\\w-]{1,64})(?:/(${actions.join('|')}))?$`);
  const byPrompt = new Map(handlers.map((h) => [h.name, h]));

  async function handle(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined, method: string): Promise<void> {
    const ctx = await open(kit, req, res, uid);
    if (!ctx) return;
    const handler = byPrompt.get(ctx.details.prompt.name);
    if (method === 'GET' && !action) {
      if (handler) return handler.show(ctx);
      return send(res, 400, errorPage(kit.page, { message: kit.page.text('interaction.unsupported'), code: 'unsupported-prompt' }));
    }
    if (method !== 'POST') return send(res, 405, errorPage(kit.page, { message: kit.page.text('error.method') }));
    const form = await readForm(req);
    kit.csrf.check(req, form);
    if (action === 'abort') {
      return ctx.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled' }, { mergeWithLastSubmission: false });
    }
    const run = action && handler && Object.hasOwn(handler.actions, action) ? handler.actions[action] : undefined;
    if (run) return run(ctx, form);
    return send(res, 400, errorPage(kit.page, { message: kit.page.text('interaction.stale'), code: 'interaction-step' }));
  }

  /** `path` below the mount path: handled (true), or not an interaction URL (false) */
  return async (req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean> => {
    const m = pattern.exec(path);
    if (!m) return false;
    await handle(req, res, m[1]!, m[2], method);
    return true;
  };
}

/** the interaction of this browser, if it is the one in the URL (else the page says why, and undefined) */
async function open(kit: PageKit, req: IncomingMessage, res: ServerResponse, uid: string): Promise<InteractionContext | undefined> {
  const provider = kit.provider();
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    send(res, 400, errorPage(kit.page, { title: kit.page.text('interaction.expired-title'), message: kit.page.text('interaction.expired'), code: 'interaction-expired', back: accountLink(kit.page), requestId: requestIdOf(req) }));
    return undefined;
  }
  // the authorization request's ui_locales, when it names an enabled language, decides from here on
  useLanguage(kit.page.i18n.choose(details.params.ui_locales, req.headers['accept-language']));
  if (details.uid !== uid) {
    send(res, 400, errorPage(kit.page, { title: kit.page.text('interaction.mismatch-title'), message: kit.page.text('interaction.mismatch'), code: 'interaction-mismatch', back: accountLink(kit.page), requestId: requestIdOf(req) }));
    return undefined;
  }
  const client = await provider.Client.find(details.params.client_id);
  const self = `${kit.base}/interaction/${uid}`;
  return {
    req, res, provider, details, client, self,
    clientName: client?.clientName ?? details.params.client_id,
    links: {
      reset: `${kit.base}/account/reset`,
      signUp: kit.signUpOn ? `${kit.base}/account/sign-up?return=${encodeURIComponent(self)}` : undefined,
      abort: `${self}/abort`,
    },
    page: kit.page,
    describeScope: (scope, api) => describeScope(kit.page, kit.cfg.scopes, scope, api),
    csrf: () => kit.csrf.token(req, res),
    send: (status, html) => send(res, status, html),
  };
}
