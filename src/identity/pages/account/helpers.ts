import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from '../../client-ip.js';
import type { Db } from '../../db.js';
import type { User } from '../../accounts.js';
import { FormError, redirect, type PageKit } from '../kit.js';
import type { ConsoleSession } from './session.js';
import type { MessageKey, Vars } from '../../i18n/index.js';

/** a sign-in this recent re-authenticates an account without a password */
const FRESH_MS = 5 * 60_000;

/** a refused console form whose cause is one field (`field`: its input's id): the overview marks it */
export class FieldError extends FormError {
  constructor(status: number, key: MessageKey, vars: Vars | undefined, readonly field: string) { super(status, key, vars); }
}

/** one POST of the console, for the signed-in session `s` (the CSRF token is checked before) */
export type Action = (s: ConsoleSession, req: IncomingMessage, res: ServerResponse, form: URLSearchParams) => Promise<void>;

/** what the console's actions share */
export interface ConsoleHelpers {
  /** the console's path, e.g. /auth/account */
  a: string;
  db: Db;
  /** back to the overview, saying what was done */
  back(res: ServerResponse, done: string): void;
  /** refuse the form: the error page with `status` and the message `key`, or (`field`) the overview with that field marked */
  refuse(status: number, key: MessageKey, vars?: Vars, field?: string): never;
  hasPassword(u: User): Promise<boolean>;
  /** the current password (or, for an account without one, a recent sign-in), else a refusal (401; `field`: the password field's id) */
  reauthenticate(s: ConsoleSession, req: IncomingMessage, form: URLSearchParams, field?: string): Promise<void>;
}

export function consoleHelpers(kit: PageKit, db: Db): ConsoleHelpers {
  const a = `${kit.base}/account`;
  const refuse = (status: number, key: MessageKey, vars?: Vars, field?: string): never => { throw field ? new FieldError(status, key, vars, field) : new FormError(status, key, vars); };
  const hasPassword = async (u: User) => !!(await kit.users.passwordHashFor(u.username ?? u.email ?? ''))?.hash;
  return {
    a, db, refuse, hasPassword,
    back: (res, done) => redirect(res, `${a}?done=${done}`),
    async reauthenticate(s, req, form, field) {
      if (await hasPassword(s.user)) {
        const password = form.get('current-password') ?? '';
        // through the password connector: wrong passwords count towards the account's lockout
        const r = password ? await kit.password.verify({ login: s.user.username ?? s.user.email!, password }, { ip: clientIp(req), via: 'account' }) : undefined;
        if (!r?.ok || r.identity.accountId !== s.user.id) {
          kit.logger.warn({ audit: 'account.reauth-failed', sub: s.user.id, ip: clientIp(req) }, 'account console: re-authentication failed');
          refuse(401, 'account.reauth-failed', undefined, field);
        }
      } else if (Date.now() - s.loginTs > FRESH_MS) {
        refuse(401, 'account.reauth-fresh', { link: `${kit.issuer}/account/sign-in?fresh=1` });
      }
    },
  };
}
