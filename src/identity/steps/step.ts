import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InteractionDetails, OidcClient, OidcPolicy, OidcPrompt, OidcProvider } from '../provider/oidc.js';
import type { PageContext } from '../pages/layout.js';

/** One browser interaction (`/interaction/<uid>`) of oidc-provider, as a page handler sees it. */
export interface InteractionContext {
  req: IncomingMessage;
  res: ServerResponse;
  provider: OidcProvider;
  details: InteractionDetails;
  client: OidcClient | undefined;
  /** the client's display name, else its id */
  clientName: string;
  /** this interaction's URL: `<base>/interaction/<uid>` (forms post to `<self>/<action>`) */
  self: string;
  links: { reset: string; signUp?: string; abort: string };
  page: PageContext;
  /** what a scope lets the client do, in words (`identity.scopes`, built in, or its name; `api`: of an API's scope) */
  describeScope(scope: string, api?: string): string;
  /** the CSRF token of this browser (sets its cookie when needed) */
  csrf(): string;
  send(status: number, html: string): void;
}

/**
 * The handler of one oidc-provider prompt: `show` answers GET /interaction/<uid> while the
 * prompt is due (a page, or finishing it without the user); `actions` answer the forms posted
 * to `/interaction/<uid>/<action>` while it is due (after the CSRF check).
 */
export interface PromptHandler {
  /** the prompt it answers (`details.prompt.name`) */
  readonly name: string;
  show(ctx: InteractionContext): Promise<void>;
  readonly actions: Readonly<Record<string, (ctx: InteractionContext, form: URLSearchParams) => Promise<void>>>;
}

/**
 * A step after sign-in (consent today; MFA, terms next): an oidc-provider prompt of its own in
 * the interaction policy, placed by its position in the step list, and its page.
 */
export interface InteractionStep extends PromptHandler {
  /** its prompt for oidc-provider's policy; `builtIn` holds oidc-provider's own (login, consent) */
  prompt(builtIn: OidcPolicy): OidcPrompt;
}
