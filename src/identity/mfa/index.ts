import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import { derive } from '../keys.js';
import type { Limits } from '../ratelimit.js';
import type { UserStore } from '../accounts.js';
import type { Outbox } from '../email.js';
import type { IdentityConfig } from '../schema.js';
import type { OidcContext } from '../provider/oidc.js';
import { CodeGuard, type CodeOutcome } from './guard.js';
import { asksForMfa, effectivePolicy, hasSecondFactor, type MfaPolicy } from './policy.js';
import { MfaStore } from './store.js';
import { Passkeys } from './passkeys.js';
import { checkTotp, enrolment, newTotpSecret } from './totp.js';
import { ENGLISH, fill, type MessageKey, type Vars } from '../i18n/index.js';

/** a pending enrolment secret is shown again (page reloads) for this long, then replaced */
const PENDING_TTL_MS = 15 * 60_000;

export type EnrolOutcome = { ok: true; recoveryCodes: string[] } | { ok: false; reason: 'wrong' | 'rate-limited' | 'enrolled'; retryAfter?: number };

/**
 * Multi-factor authentication: when a sign-in needs a second factor (the policy of the client and
 * the APIs asked for, `acr_values`), checking codes (limited and locked like passwords), and
 * enrolling an authenticator app with its recovery codes. The pages are steps/mfa.ts.
 */
export class Mfa {
  readonly store: MfaStore;
  readonly passkeys: Passkeys;
  readonly #guard: CodeGuard;

  constructor(private readonly cfg: IdentityConfig, db: Db, master: Buffer, private readonly limits: Limits, private readonly logger: Logger,
    private readonly mail?: { users: UserStore; outbox: Outbox }) {
    this.store = new MfaStore(db, derive(master, 'mfa-secrets'), derive(master, 'mfa-recovery-codes'));
    this.#guard = new CodeGuard(db, cfg, limits, logger);
    this.passkeys = new Passkeys(db, cfg.issuer, this.issuerName, logger);
  }

  /** passkeys are on: configured, and the issuer's host is a name (browsers refuse an IP address as relying party) */
  get passkeysOn(): boolean { return this.cfg.mfa.passkeys && isIP(this.passkeys.rpId.replace(/^\[|\]$/g, '')) === 0; }

  /** does the account have a second factor: a confirmed authenticator app, a passkey, or (with `mfa.email-codes`) a verified email address */
  async enrolled(userId: string): Promise<boolean> {
    return (await this.store.enrolled(userId)) || (await this.passkeys.count(userId)) > 0 || (await this.emailOf(userId)) !== undefined;
  }

  /** the address codes can be mailed to: `mfa.email-codes` on, and the account's address verified */
  async emailOf(userId: string): Promise<string | undefined> {
    if (!this.cfg.mfa['email-codes'] || !this.mail) return undefined;
    const u = await this.mail.users.get(userId);
    return u?.email && u.emailVerified ? u.email : undefined;
  }

  /** mail a new code to the account's verified address (the mail limit per address applies); false when it has none */
  async sendEmailCode(userId: string, ip: string, say: (key: MessageKey, vars?: Vars) => string = (key, vars) => fill(ENGLISH[key]!, vars)): Promise<boolean> {
    const to = await this.emailOf(userId);
    if (!to || !this.mail) return false;
    const code = await this.store.issueEmailCode(userId);
    const name = this.cfg.branding.name;
    this.mail.outbox.post({
      to, kind: 'mfa-code', link: '', code, subject: say('mail.mfa-code.subject', { code, name }),
      text: say('mail.mfa-code.text', { code, name }),
    });
    this.logger.info({ audit: 'mfa.email-code-sent', sub: userId, ip }, 'sign-in code mailed');
    return true;
  }

  /** spend a mailed code */
  async verifyEmailCode(userId: string, ip: string, code: string): Promise<CodeOutcome> {
    const r = await this.#guard.attempt(userId, ip, () => this.store.useEmailCode(userId, code));
    if (r.ok) this.logger.info({ audit: 'mfa.success', factor: 'email', sub: userId, ip }, 'second factor accepted');
    return r;
  }

  /**
   * Register a passkey as the account's second factor (at enrolment): recovery codes come with
   * the first factor the account enrols (undefined: registered, and it had codes already).
   */
  async enrolPasskey(uid: string, userId: string, response: string): Promise<{ ok: boolean; recoveryCodes?: string[] }> {
    if (!(await this.passkeys.register(uid, userId, response))) return { ok: false };
    if ((await this.store.recoveryCodesLeft(userId)) > 0) return { ok: true };
    return { ok: true, recoveryCodes: await this.store.newRecoveryCodes(userId, this.cfg.mfa['recovery-codes']) };
  }

  /** the issuer name authenticator apps show */
  get issuerName(): string { return this.cfg.mfa['totp-issuer'] ?? this.cfg.branding.name; }

  policyOf(clientPolicy: MfaPolicy | undefined, params: { scope?: unknown; resource?: unknown }): MfaPolicy {
    return effectivePolicy(this.cfg, clientPolicy, params);
  }

  /**
   * Is the second-factor step due for this authorization request (oidc-provider's check, after
   * sign-in): not when the session has a second factor already; yes when `acr_values` asks for
   * one, or the policy is `required`; with `optional`, when the account has one enrolled.
   */
  async due(ctx: OidcContext): Promise<boolean> {
    const s = ctx.oidc.session;
    if (!s?.accountId || hasSecondFactor(s.amr)) return false;
    const params = ctx.oidc.params ?? {};
    if (asksForMfa(params.acr_values)) return true;
    const policy = this.policyOf(ctx.oidc.client?.gatehouse_mfa, params);
    if (policy === 'required') return true;
    return policy === 'optional' && this.enrolled(s.accountId);
  }

  /**
   * The password grant has no second step: refused when the policy requires a second factor,
   * or the account has one and the policy is not `off`.
   */
  async passwordGrantAllowed(clientPolicy: MfaPolicy | undefined, params: { scope?: unknown; resource?: unknown }, userId: string): Promise<boolean> {
    const policy = this.policyOf(clientPolicy, params);
    if (policy === 'required') return false;
    return policy === 'off' || !(await this.enrolled(userId));
  }

  /** check a code of the account's authenticator app; a code's time step is spent once */
  async verifyTotp(userId: string, ip: string, code: string): Promise<CodeOutcome> {
    const r = await this.#guard.attempt(userId, ip, async () => {
      const t = await this.store.totp(userId);
      if (!t?.confirmed) return false;
      const step = await checkTotp(t.secret, code, t.lastStep);
      return step !== undefined && this.store.useStep(userId, step);
    });
    if (r.ok) this.logger.info({ audit: 'mfa.success', factor: 'totp', sub: userId, ip }, 'second factor accepted');
    return r;
  }

  /** spend a recovery code */
  async verifyRecoveryCode(userId: string, ip: string, code: string): Promise<CodeOutcome> {
    const r = await this.#guard.attempt(userId, ip, () => this.store.useRecoveryCode(userId, code));
    if (r.ok) this.logger.warn({ audit: 'mfa.recovery-code-used', sub: userId, ip, left: await this.store.recoveryCodesLeft(userId) }, 'recovery code used');
    return r;
  }

  /** the pending secret to enrol (made, or the one shown a moment ago), as a QR code; undefined when an app is enrolled already */
  async beginEnrolment(userId: string, account: string): Promise<{ secret: string; qr: string; uri: string } | undefined> {
    let t = await this.store.totp(userId);
    if (t?.confirmed) return undefined;
    if (!t || Date.now() - t.createdAt > PENDING_TTL_MS) {
      if (!(await this.store.setPendingTotp(userId, newTotpSecret()))) return undefined;
      t = await this.store.totp(userId);
      if (!t || t.confirmed) return undefined;
    }
    return { secret: t.secret, ...(await enrolment(t.secret, this.issuerName, account)) };
  }

  /** confirm the pending secret with a first code; then the recovery codes, the one time they are seen */
  async confirmEnrolment(userId: string, ip: string, code: string): Promise<EnrolOutcome> {
    const t = await this.store.totp(userId);
    if (!t || t.confirmed) return { ok: false, reason: 'enrolled' };
    // wrong codes here are limited per client address (no lockout: the secret is the user's own, not yet a factor)
    const gate = await this.limits.client('mfa', ip, this.cfg['rate-limits'].mfa);
    if (!gate.allowed) return { ok: false, reason: 'rate-limited', retryAfter: gate.retryAfter };
    const step = await checkTotp(t.secret, code, 0);
    if (step === undefined) return { ok: false, reason: 'wrong' };
    await gate.refund();
    if (!(await this.store.confirmTotp(userId, step))) return { ok: false, reason: 'enrolled' };
    const recoveryCodes = await this.store.newRecoveryCodes(userId, this.cfg.mfa['recovery-codes']);
    this.logger.info({ audit: 'mfa.enrolled', factor: 'totp', sub: userId, ip }, 'authenticator app enrolled');
    return { ok: true, recoveryCodes };
  }
}
