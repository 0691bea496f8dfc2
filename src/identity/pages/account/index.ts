import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorPage } from '../error.js';
import { queryOf, readForm, redirect, send, type PageKit } from '../kit.js';
import { accessActions, profileActions } from './actions.js';
import { consoleHelpers, FieldError, type Action } from './helpers.js';
import { mfaActions } from './mfa.js';
import { callbackOk, consoleSession, toSignIn, type ConsoleSession } from './session.js';
import { sessionsOf } from './store.js';
import { overviewPage, reauth } from './views.js';
import { passkeyActions } from './passkeys.js';
import type { MessageKey } from '../../i18n/index.js';

/** what `?done=` says on the overview */
const NOTICES = new Set(['profile', 'email', 'password', 'mfa-removed', 'session-ended', 'passkey-added', 'passkey-renamed', 'unlinked', 'app-on']);

/**
 * The account console at `<issuer>/account`: the signed-in user's own profile, password, second
 * factors, sessions, linked sign-ins, data and deletion. Signed in by the identity provider's
 * own browser session (a visit without one goes through sign-in and back); every form carries
 * the CSRF token; what can lock the user out or lose the account asks for the current password
 * (or, without one, a recent sign-in).
 */
export function accountConsole(kit: PageKit) {
  const db = kit.db!;
  const h = consoleHelpers(kit, db);
  const { a, hasPassword } = h;
  const mfa = kit.mfa && mfaActions(kit, kit.mfa, h);
  const passkeys = kit.mfa?.passkeysOn ? passkeyActions(kit, kit.mfa.passkeys, h, reauth) : undefined;
  const actions: Record<string, Action> = { ...profileActions(kit, h), ...accessActions(kit, h), ...mfa?.actions, ...passkeys?.actions };
  const pages = new Set(['/account', '/account/sign-in', '/account/callback', '/account/export', '/account/mfa/app', '/account/mfa/app/cancel', ...Object.keys(actions)]);

  /** the overview; after a refused form (`refused`), with its message and the field it is about marked */
  async function overview(s: ConsoleSession, req: IncomingMessage, res: ServerResponse, refused?: FieldError): Promise<void> {
    const done = queryOf(req).get('done') ?? '';
    const links = kit.federation ? await kit.federation.store.linksOf(s.user.id) : [];
    const m = kit.mfa && { app: !!(await kit.mfa.store.totp(s.user.id))?.confirmed, passkeys: await kit.mfa.passkeys.list(s.user.id), recoveryCodes: await kit.mfa.store.recoveryCodesLeft(s.user.id) };
    send(res, refused?.status ?? 200, overviewPage(kit.page, {
      user: s.user, hasPassword: await hasPassword(s.user), currentUid: s.uid, sessions: await sessionsOf(db, s.user.id), links, mfa: m, passkeysOn: !!passkeys,
      csrf: kit.csrf.token(req, res), notice: refused || !NOTICES.has(done) ? undefined : kit.page.text(`account.done.${done}` as MessageKey),
      error: refused && kit.page.text(refused.key, refused.vars), invalid: refused?.field,
    }));
  }

  async function exportData(s: ConsoleSession, res: ServerResponse): Promise<void> {
    const { user } = s;
    const data = {
      account: user,
      mfa: kit.mfa ? { app: !!(await kit.mfa.store.totp(user.id))?.confirmed, passkeys: (await kit.mfa.passkeys.list(user.id)).map(({ name, createdAt, lastUsedAt }) => ({ name, added: new Date(createdAt).toISOString(), lastUsed: lastUsedAt ? new Date(lastUsedAt).toISOString() : null })), recoveryCodesLeft: await kit.mfa.store.recoveryCodesLeft(user.id) } : undefined,
      linkedIdentities: kit.federation ? await kit.federation.store.linksOf(user.id) : [],
      sessions: (await sessionsOf(db, user.id)).map(({ loginTs, amr, clients }) => ({ signedIn: new Date(loginTs).toISOString(), amr, clients })),
      exportedAt: new Date().toISOString(),
    };
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-disposition', 'attachment; filename="my-account.json"');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(data, null, 2));
  }

  /** handles `path` when it is a console page (true), else false */
  return async (req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean> => {
    if (!pages.has(path)) return false;
    if (path === '/account/sign-in' && method === 'GET') { toSignIn(kit, res, queryOf(req).get('fresh') === '1'); return true; }
    if (path === '/account/callback' && method === 'GET') {
      if (callbackOk(req, res, kit, queryOf(req).get('state') ?? '')) redirect(res, a);
      else send(res, 400, errorPage(kit.page, { message: kit.page.text('account.state'), code: 'account-state' }));
      return true;
    }
    const s = await consoleSession(kit, req, res);
    if (!s) { if (method === 'GET') toSignIn(kit, res); else send(res, 401, errorPage(kit.page, { message: kit.page.text('account.signed-out'), code: 'account-signed-out' })); return true; }
    if (method === 'GET') {
      if (path === '/account') await overview(s, req, res);
      else if (path === '/account/export') await exportData(s, res);
      else if (path === '/account/mfa/app' && mfa) await mfa.showEnrol(s, req, res);
      else if (path === '/account/passkeys/add' && passkeys) await passkeys.showAdd(s, req, res);
      else send(res, 405, errorPage(kit.page, { message: kit.page.text('error.method') }));
      return true;
    }
    if (method !== 'POST') { send(res, 405, errorPage(kit.page, { message: kit.page.text('error.method') })); return true; }
    const form = await readForm(req);
    kit.csrf.check(req, form);
    if (path === '/account/mfa/app/cancel') { redirect(res, a); return true; }
    const run = Object.hasOwn(actions, path) ? actions[path] : undefined;
    if (!run) { send(res, 404, errorPage(kit.page, { message: kit.page.text('error.not-found') })); return true; }
    try {
      await run(s, req, res, form);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      await overview(s, req, res, err);
    }
    return true;
  };
}
