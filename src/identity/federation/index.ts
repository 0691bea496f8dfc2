import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { User, UserStore } from '../accounts.js';
import { claimAt, single } from '../connectors/claims.js';
import { idpOf as idpOfAmr, type BrowserHandoff, type RedirectConnector, type SignInMeta, type VerifiedIdentity } from '../connectors/connector.js';
import { oauth1Connector } from '../connectors/oauth1.js';
import { loadClientKey, oauthConnector } from '../connectors/oidc.js';
import { samlConnector, type SamlConnector } from '../connectors/saml.js';
import type { Db } from '../db.js';
import { COOKIE_PREFIX } from '../pages/layout.js';
import type { IdentityConfig } from '../schema.js';
import { resolveConnector, type ResolvedConnector } from './presets.js';
import { FederationStore } from './store.js';

/**
 * Sign-in at other identity providers: the connectors of `identity.federation`, what a sign-in
 * keeps between its steps, and the one place that decides which local account an upstream
 * identity signs in to (linking and just-in-time creation), whatever the protocol.
 */

export interface FederatedConnector {
  config: ResolvedConnector;
  connector: RedirectConnector | SamlConnector;
  /** the button's icon, read at start */
  icon?: { body: Buffer; type: string };
}

const ICON_TYPES: Record<string, string> = { png: 'image/png', svg: 'image/svg+xml', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp' };
const ICON_LIMIT = 64 * 1024;

/** read a connector's `icon` file at start: a missing or oversized one is an error naming the connector */
export function loadIcon(c: ResolvedConnector, configDir: string): { body: Buffer; type: string } | undefined {
  if (!c.icon) return undefined;
  const file = isAbsolute(c.icon) ? c.icon : resolve(configDir, c.icon);
  let body: Buffer;
  try { body = readFileSync(file); } catch (err) {
    throw new Error(`identity.federation ${c.id}: icon ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read'}`, { cause: err });
  }
  if (body.length > ICON_LIMIT) throw new Error(`identity.federation ${c.id}: icon ${file} is over 64 KiB`);
  return { body, type: ICON_TYPES[extname(file).slice(1).toLowerCase()]! };
}

/** which account an upstream identity signs in to */
export type Decision =
  | { kind: 'login'; user: User; created: boolean }
  | { kind: 'confirm'; user: User }
  | { kind: 'refused'; reason: string; message: string };

/** how long a begun sign-in may take at the upstream, and how long its outcome waits for the interaction page */
const BEGIN_TTL = 600;
const OUTCOME_TTL = 300;
/** how long a SAML sign-in's NameID and SessionIndex are kept for a logout started here, and how long that logout may take at the IdP */
const SAML_SESSION_TTL = 30 * 86400;
const SLO_TTL = 600;
export const BROWSER_COOKIE = `${COOKIE_PREFIX}federation`;

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');
const handle = () => randomBytes(32).toString('base64url');

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** a sign-in could not begin: the upstream is unreachable or refused us (discovery, an OAuth 1.0a request token) */
export class UpstreamUnavailable extends Error {
  constructor(readonly displayName: string, options?: ErrorOptions) { super(`Signing in with ${displayName} is not available right now. Try again later, or sign in another way.`, options); }
}

export class Federation {
  readonly store: FederationStore;
  readonly #byId: Map<string, FederatedConnector>;

  constructor(
    private readonly cfg: IdentityConfig,
    db: Db,
    private readonly users: UserStore,
    private readonly logger: Logger,
    /** the provider's mount path, e.g. /auth */
    private readonly base: string,
    connectors?: FederatedConnector[],
    /** where relative file paths of the config start (client keys, icons, SAML keys and metadata) */
    configDir = process.cwd(),
  ) {
    this.store = new FederationStore(db);
    const log = logger.child({ component: 'federation' });
    const list = connectors ?? cfg.federation.map((f) => {
      const config = resolveConnector(f);
      const connector = config.type === 'saml'
        ? samlConnector(config, { logger: log, once: (k, ttl) => this.store.once(k, ttl), defaultEntityId: this.metadataUrl(config.id), configDir })
        : config.type === 'oauth1' ? oauth1Connector(config, log) : oauthConnector(config, log, loadClientKey(config, configDir));
      return { config, connector, icon: loadIcon(config, configDir) };
    });
    this.#byId = new Map(list.map((c) => [c.config.id, c]));
  }

  get connectors(): FederatedConnector[] { return [...this.#byId.values()]; }

  /** home-realm discovery: the connector whose `domains` has `domain` (an email domain, any case) */
  forDomain(domain: string): FederatedConnector | undefined {
    const d = domain.trim().toLowerCase();
    return this.connectors.find((c) => c.config.domains.includes(d));
  }

  /** the connector of an email address's home realm */
  forEmail(address: string): FederatedConnector | undefined {
    const at = address.lastIndexOf('@');
    return at > 0 && address.length <= 320 ? this.forDomain(address.slice(at + 1)) : undefined;
  }

  /** stop background work (SAML IdP metadata refreshes) */
  close(): void {
    for (const { connector } of this.#byId.values()) if ('idp' in connector) connector.idp.close();
  }

  get(id: string): FederatedConnector | undefined { return this.#byId.get(id); }

  /** the path of a connector's button icon, when it has one */
  iconPath(id: string): string | undefined { return this.#byId.get(id)?.icon ? `${this.base}/federation/${id}/icon` : undefined; }

  /** `<issuer>/federation/<id>/metadata`: a SAML connector's SP metadata (and default entity id) */
  metadataUrl(id: string): string { return `${this.cfg.issuer.replace(/\/$/, '')}/federation/${id}/metadata`; }

  /** `<issuer>/federation/<id>/callback`: the redirect URI (ACS URL) to register at the upstream */
  callbackUrl(id: string): string { return `${this.cfg.issuer.replace(/\/$/, '')}/federation/${id}/callback`; }

  /**
   * Begin a sign-in at connector `id` for interaction `uid`: what it keeps is stored under a
   * fresh random state, bound to this browser by a cookie (a callback arriving in another
   * browser, e.g. a victim sent an attacker's code, is refused).
   */
  async begin(req: IncomingMessage, res: ServerResponse, id: string, uid: string, hint?: string): Promise<BrowserHandoff> {
    const fc = this.#byId.get(id);
    if (!fc) throw new Error(`no connector ${id}`);
    let browser = cookieOf(req, BROWSER_COOKIE);
    if (!browser || !/^[\w-]{43}$/.test(browser)) {
      browser = handle();
      const secure = this.cfg.issuer.startsWith('https:') ? '; Secure' : '';
      res.appendHeader('set-cookie', `${BROWSER_COOKIE}=${browser}; Path=${this.base}/; Max-Age=${BEGIN_TTL}; HttpOnly; SameSite=Lax${secure}`);
    }
    const state = handle();
    let begun: Awaited<ReturnType<RedirectConnector['begin']>>;
    try {
      begun = await fc.connector.begin({ callback: this.callbackUrl(id), state, hint });
    } catch (err) {
      this.logger.warn({ audit: 'federation.refused', connector: id, reason: 'upstream-unavailable', err: String((err as Error).message ?? err).slice(0, 300) }, 'federated sign-in could not begin');
      throw new UpstreamUnavailable(fc.config.displayName, { cause: err });
    }
    const { handoff, state: kept } = begun;
    await this.store.put('begin', state, { connector: id, uid, browser: sha256(browser), data: kept }, BEGIN_TTL);
    this.logger.info({ audit: 'federation.begin', connector: id }, 'federated sign-in begun');
    return handoff;
  }

  /**
   * The upstream's answer at `/federation/<id>/callback`: the kept step is spent first (a replay
   * finds nothing), then it must belong to this connector (mix-up) and this browser, then the
   * connector verifies the answer. Returns where the browser goes next — always this provider's
   * own interaction page, never a URL from the request — or why it was refused.
   */
  async callback(req: IncomingMessage, id: string, params: URLSearchParams, meta: SignInMeta): Promise<{ location: string } | { refused: string }> {
    const fc = this.#byId.get(id);
    const state = params.get('state') ?? params.get('RelayState') ?? '';
    const kept = fc ? await this.store.take('begin', state) : undefined;
    const refuse = (reason: string) => {
      this.logger.warn({ audit: 'federation.refused', connector: id.slice(0, 40), reason, ip: meta.ip }, 'federated sign-in refused');
      return { refused: reason };
    };
    if (!fc) return refuse('unknown-connector');
    if (!kept) return refuse('unknown-state'); // never begun, expired, or replayed
    if (kept.connector !== id) return refuse('connector-mismatch'); // mix-up: an answer meant for another connector
    // the browser that began must be the one that answers. A SAML IdP answers with a cross-site
    // POST, which carries no SameSite=Lax cookie: then the check waits for the interaction page
    // (a top-level GET after our 303, which carries it), where the outcome is taken
    const browser = cookieOf(req, BROWSER_COOKIE);
    const deferred = !browser && req.method === 'POST';
    if (kept.browser && !deferred && (!browser || sha256(browser) !== kept.browser)) return refuse('browser-mismatch');
    const result = await fc.connector.complete({ params, state: kept.data as Record<string, string> }, meta);
    const next = handle();
    if (!result.ok) {
      this.logger.warn({ audit: 'federation.refused', connector: id, reason: result.reason, ip: meta.ip }, 'federated sign-in refused');
      await this.store.put('outcome', next, { connector: id, uid: kept.uid, data: { error: result.reason } }, OUTCOME_TTL);
    } else {
      await this.store.put('outcome', next, { connector: id, uid: kept.uid, browser: deferred ? kept.browser : undefined, data: { identity: result.identity } }, OUTCOME_TTL);
    }
    return { location: `${this.base}/interaction/${kept.uid}?federation=${next}` };
  }

  /**
   * A SAML IdP's LogoutRequest at `/federation/<id>/logout`: once verified, the sessions of the
   * account linked to its NameID that signed in through this connector end. Where the browser
   * goes next (the LogoutResponse to the IdP), or why it was refused.
   */
  async samlLogout(id: string, params: URLSearchParams, rawQuery: string | undefined, ip: string): Promise<{ location?: string } | { refused: string }> {
    const fc = this.#byId.get(id);
    if (!fc || !('logoutRequest' in fc.connector)) return { refused: 'unknown-connector' };
    const r = await fc.connector.logoutRequest({ params, rawQuery, callback: this.callbackUrl(id) });
    if ('refused' in r) {
      this.logger.warn({ audit: 'federation.logout-refused', connector: id, ip }, 'upstream logout refused');
      return { refused: 'invalid-logout' };
    }
    const userId = await this.store.linked(id, r.nameId);
    const ended = userId ? await this.store.endSessions(userId, id) : 0;
    this.logger.info({ audit: 'federation.logout', connector: id, sub: userId, sessions: ended, ip }, 'signed out by the upstream identity provider');
    return { location: await r.answer(true) };
  }

  /**
   * A logout at Gatehouse (RP-initiated, confirmed) of a session that signed in through a SAML
   * connector with a single logout service: the URL of the LogoutRequest to send the browser to,
   * whose LogoutResponse comes back to `/federation/<id>/logout` and continues to `next` (where
   * the logout would have gone). Undefined when there is no such IdP session.
   */
  async samlLogoutStart(accountId: string | undefined, amr: unknown, next: string): Promise<string | undefined> {
    const id = idpOfAmr(amr);
    const fc = id ? this.#byId.get(id) : undefined;
    if (!accountId || !fc || !('logoutUrl' in fc.connector)) return undefined;
    const kept = await this.store.take('saml-session', `${id}:${accountId}`);
    if (!kept) return undefined;
    const h = handle();
    const started = await fc.connector.logoutUrl(kept.data as never, h, this.callbackUrl(id!)).catch((err: unknown) => {
      this.logger.warn({ connector: id, err: String((err as Error).message ?? err).slice(0, 300) }, 'SAML logout request not sent');
      return undefined;
    });
    if (!started) return undefined;
    await this.store.put('slo', h, { connector: id!, uid: '', data: { requestId: started.requestId, next } }, SLO_TTL);
    this.logger.info({ audit: 'federation.logout-start', connector: id, sub: accountId }, 'signing out at the upstream identity provider');
    return started.url;
  }

  /** the IdP's LogoutResponse to a logout started here: where the logout goes on (whatever the IdP said: the Gatehouse session has ended) */
  async samlLogoutDone(id: string, params: URLSearchParams, rawQuery: string | undefined): Promise<string | undefined> {
    const fc = this.#byId.get(id);
    const kept = await this.store.take('slo', params.get('RelayState') ?? '');
    if (!fc || !('logoutResponse' in fc.connector) || !kept || kept.connector !== id) return undefined;
    const ok = await fc.connector.logoutResponse({ params, rawQuery, callback: this.callbackUrl(id), requestId: String(kept.data.requestId) });
    this.logger.info({ audit: 'federation.logout-done', connector: id, confirmed: ok }, ok ? 'signed out at the upstream identity provider' : 'the upstream identity provider did not confirm the logout');
    return String(kept.data.next);
  }

  /** the outcome of a callback, for the interaction `uid` it began in (once) */
  async outcome(req: IncomingMessage, h: string, uid: string): Promise<{ connector: FederatedConnector; identity?: VerifiedIdentity; error?: string } | undefined> {
    const o = await this.store.take('outcome', h);
    const fc = o && this.#byId.get(o.connector);
    if (!o || !fc || o.uid !== uid) return undefined;
    const browser = cookieOf(req, BROWSER_COOKIE);
    if (o.browser && (!browser || sha256(browser) !== o.browser)) {
      this.logger.warn({ audit: 'federation.refused', connector: o.connector, reason: 'browser-mismatch' }, 'federated sign-in refused');
      return undefined;
    }
    return { connector: fc, identity: o.data.identity as VerifiedIdentity | undefined, error: o.data.error as string | undefined };
  }

  /** keep an identity that waits for the owner of `user` to confirm the link; the handle of the confirmation form */
  async awaitConfirmation(identity: VerifiedIdentity, user: User, uid: string): Promise<string> {
    const h = handle();
    await this.store.put('link', h, { connector: identity.connector, uid, data: { identity, userId: user.id } }, OUTCOME_TTL);
    return h;
  }

  async pendingLink(h: string, uid: string): Promise<{ identity: VerifiedIdentity; user: User; connector: FederatedConnector } | undefined> {
    const o = await this.store.take('link', h);
    const fc = o && this.#byId.get(o.connector);
    if (!o || !fc || o.uid !== uid) return undefined;
    const user = await this.users.get(String(o.data.userId));
    return user ? { identity: o.data.identity as VerifiedIdentity, user, connector: fc } : undefined;
  }

  /**
   * Which local account `identity` signs in to. A linked identity signs in to its account. An
   * identity with a **verified** email address of an existing account is linked to it only as
   * the connector says (`confirm`: after the owner signs in with the account's password;
   * `verified-email`: at once; `never`). Otherwise a new account, when the connector may create
   * them — given the address only when it is verified. An unverified address never links.
   */
  async decide(identity: VerifiedIdentity): Promise<Decision> {
    const fc = this.#byId.get(identity.connector)!;
    const rules = fc.config.accounts;
    const refused = (reason: string, message: string): Decision => ({ kind: 'refused', reason, message });
    const linkedId = await this.store.linked(identity.connector, identity.subject);
    if (linkedId) {
      const user = await this.users.get(linkedId);
      if (!user || user.disabled) return refused('disabled', 'This account is disabled.');
      await this.store.signedIn(identity.connector, identity.subject);
      return { kind: 'login', user: await this.#mapProfile(user, identity, fc.config), created: false };
    }
    const email = identity.email?.trim().toLowerCase();
    const owner = email && identity.emailVerified ? await this.users.findByLogin(email) : undefined;
    if (owner && owner.email === email && rules.link !== 'never') {
      if (owner.disabled) return refused('disabled', 'This account is disabled.');
      if (rules.link === 'verified-email') return this.linkAndLogin(identity, owner);
      return { kind: 'confirm', user: owner };
    }
    if (!rules.create) return refused('not-linked', `No account is linked to this ${fc.config.displayName} sign-in.`);
    let user: User;
    try {
      user = await this.users.create({
        ...(identity.emailVerified && email ? { email, emailVerified: true } : { username: `${identity.connector}-${sha256(identity.subject).slice(0, 12).toLowerCase().replace(/[^a-z0-9]/g, 'x')}` }),
        roles: rules['default-roles'],
      });
    } catch {
      return refused('account-exists', 'An account with this email address exists already. Sign in to it with its password.');
    }
    if (!await this.store.link(identity.connector, identity.subject, user.id, identity.email)) {
      return refused('race', 'This sign-in was linked to an account meanwhile. Try again.');
    }
    this.logger.info({ audit: 'account.created', via: 'federation', connector: identity.connector, sub: user.id }, 'account created');
    return { kind: 'login', user: await this.#mapProfile(user, identity, fc.config), created: true };
  }

  /** link `identity` to `user` (confirmed by the owner, or by the connector's rules) and sign in */
  async linkAndLogin(identity: VerifiedIdentity, user: User): Promise<Decision> {
    if (!await this.store.link(identity.connector, identity.subject, user.id, identity.email)) {
      return { kind: 'refused', reason: 'linked-elsewhere', message: 'This sign-in is linked to another account already.' };
    }
    this.logger.info({ audit: 'federation.linked', connector: identity.connector, sub: user.id }, 'upstream identity linked to an account');
    const fc = this.#byId.get(identity.connector)!;
    return { kind: 'login', user: await this.#mapProfile(user, identity, fc.config), created: false };
  }

  /** the audit line of a finished federated sign-in; a SAML sign-in's NameID and SessionIndex are kept for single logout */
  async signedIn(identity: VerifiedIdentity, d: Decision & { kind: 'login' }, meta: SignInMeta): Promise<void> {
    const fc = this.#byId.get(identity.connector);
    const { nameID, nameIDFormat, sessionIndex } = identity.claims;
    if (fc && 'logoutUrl' in fc.connector && typeof nameID === 'string') {
      await this.store.replace('saml-session', `${identity.connector}:${d.user.id}`, { connector: identity.connector, uid: '', data: { nameID, nameIDFormat, sessionIndex } }, SAML_SESSION_TTL);
    }
    this.logger.info({ audit: 'sign-in.success', via: meta.via, connector: identity.connector, sub: d.user.id, created: d.created || undefined, ip: meta.ip, client_id: meta.clientId }, 'sign-in succeeded');
  }

  /** the claims mapping: attributes and name, groups, roles from groups */
  async #mapProfile(user: User, identity: VerifiedIdentity, c: ResolvedConnector): Promise<User> {
    const attributes: Record<string, unknown> = {};
    const name = single(claimAt(identity.claims, c.claims.name));
    if (typeof name === 'string' && name.length <= 200) attributes.name = name;
    for (const [local, path] of Object.entries(c.claims.attributes)) {
      const v = claimAt(identity.claims, path);
      if (v !== undefined && JSON.stringify(v).length <= 2000) attributes[local] = v;
    }
    let groups: string[] | undefined;
    if (c.claims.groups) {
      const g = claimAt(identity.claims, c.claims.groups);
      // a single-valued SAML attribute arrives as a string (node-saml flattens it): one group, not none
      groups = typeof g === 'string' ? [g] : Array.isArray(g) ? g.filter((x): x is string => typeof x === 'string').slice(0, 200) : [];
    }
    const addRoles = (groups ?? []).flatMap((g) => (Object.hasOwn(c.rolesFromGroups, g) ? c.rolesFromGroups[g]! : []));
    await this.users.updateProfile(user.id, { attributes, groups, addRoles });
    return (await this.users.get(user.id)) ?? user;
  }
}
