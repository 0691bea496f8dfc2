import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { IdentityConfig } from '../schema.js';
import type { UserStore } from '../accounts.js';
import type { Outbox } from '../email.js';
import type { Limits } from '../ratelimit.js';
import type { PasswordConnector } from '../connectors/password.js';
import type { OidcProvider } from '../provider/oidc.js';
import type { Csrf } from './csrf.js';
import type { PageContext } from './layout.js';
import type { InteractionStep } from '../steps/step.js';
import type { Federation } from '../federation/index.js';
import type { Passkeys } from '../mfa/passkeys.js';
import type { Mfa } from '../mfa/index.js';
import type { Db } from '../db.js';
import { ENGLISH, fill, type MessageKey, type Vars } from '../i18n/index.js';

/** What the hosted pages are built from (once, at start). */
export interface PageDeps {
  cfg: IdentityConfig;
  /** the provider in use (it is rebuilt when signing keys rotate) */
  provider: () => OidcProvider;
  users: UserStore;
  /** password sign-in (the sign-in form) */
  password: PasswordConnector;
  /** the interaction steps after sign-in, in order (steps/index.ts) */
  steps: readonly InteractionStep[];
  /** mail goes through a queue, off the request path */
  outbox: Outbox;
  logger: Logger;
  page: PageContext;
  csrfSecret: Buffer;
  /** absolute path of the logo, resolved against the config folder */
  logoFile?: string;
  /** absolute path of `branding.custom-css` */
  customCssFile?: string;
  limits: Limits;
  /** sign-in at other identity providers (`identity.federation`), when configured */
  federation?: Federation;
  /** passkeys: passwordless sign-in on the sign-in page (`mfa.passkeys`) */
  passkeys?: Passkeys;
  /** the identity database and second factors: the account console (`/account`) is on with them */
  db?: Db;
  mfa?: Mfa;
}

/** What every page flow gets: the deps plus what is derived from them once. */
export interface PageKit extends PageDeps {
  /** the mount path, e.g. /auth */
  base: string;
  /** the issuer without a trailing slash: every link in a mail starts with it */
  issuer: string;
  csrf: Csrf;
  minLength: number;
  signUpOn: boolean;
}

/** One hosted page flow: answers a request below the mount path. */
export type Flow = (kit: PageKit, req: IncomingMessage, res: ServerResponse, method: string) => Promise<void>;

/** A form the page cannot take: answered with `status` and the message `key`, on the error page. */
export class FormError extends Error {
  constructor(readonly status: number, readonly key: MessageKey, readonly vars?: Vars) { super(fill(ENGLISH[key]!, vars)); }
}

const FORM_LIMIT = 16 * 1024;

export async function readForm(req: IncomingMessage, limit = FORM_LIMIT): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new FormError(415, 'form.type');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new FormError(413, 'form.too-large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function send(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(html);
}

export function redirect(res: ServerResponse, to: string): void {
  res.statusCode = 303;
  res.setHeader('location', to);
  res.end();
}

/** the query parameters of the request */
export const queryOf = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').searchParams;

/** a wait in words, in the page's language: "2 minutes" */
export const waitText = (page: PageContext, s: number) => (s < 90 ? page.text('wait.seconds', { n: s }) : s < 5400 ? page.text('wait.minutes', { n: Math.ceil(s / 60) }) : page.text('wait.hours', { n: Math.ceil(s / 3600) }));
