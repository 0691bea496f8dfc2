import { createRequire } from 'node:module';
import argon2 from 'argon2';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import type { IdentityConfig } from './schema.js';
import { ENGLISH, fill, type MessageKey, type Vars } from './i18n/index.js';

/**
 * Passwords are compared as Unicode NFKC (NIST SP 800-63B, 5.1.1.2): the same password typed
 * composed (NFC) or decomposed (NFD), or with compatibility forms, is the same password. Applied
 * when a password is set, checked against the policy, and verified.
 */
export const normalizePassword = (p: string) => p.normalize('NFKC');

let checker: ZxcvbnFactory | undefined;

/**
 * zxcvbn-ts with its common (breached) password list (about 49,000), the English dictionaries and
 * the keyboard graphs, loaded once on first use (about 0.1 s; `warmPasswordChecker` does it early).
 */
function strength(): ZxcvbnFactory {
  if (checker) return checker;
  const require = createRequire(import.meta.url);
  const { ZxcvbnFactory: Factory } = require('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  const common = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  const en = require('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
  checker = new Factory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations, maxLength: 256 });
  return checker;
}

/** Load the password checker now, so the first sign-up does not wait for it. */
export function warmPasswordChecker(): void { strength(); }

/** a message in English (the management API and CLI) */
const english = (key: MessageKey, vars?: Vars) => fill(ENGLISH[key]!, vars);

/**
 * Why a new password is refused, or undefined when it is acceptable. `context` holds the words
 * of this account (username, address, its local part) and `service` the product's name: a
 * password made of them is refused (NIST SP 800-63B context-specific words).
 *
 * With `refuse-common` the password is scored by zxcvbn against breached and common passwords
 * (also in l33t, reversed, with digits or symbols added), dictionary words, keyboard patterns,
 * repeats, sequences and dates, and refused below `min-score`.
 */
export function checkPasswordPolicy(password: string, cfg: IdentityConfig['passwords'], context: string[] = [], service?: string, say: (key: MessageKey, vars?: Vars) => string = english): string | undefined {
  if (typeof password !== 'string') return say('password.too-short', { n: cfg['min-length'] });
  const p = normalizePassword(password);
  const length = [...p].length;
  if (length < cfg['min-length']) return say('password.too-short', { n: cfg['min-length'] });
  if (length > 256) return say('password.too-long');
  const lower = p.toLowerCase();
  const words = [...context, service ?? '', 'gatehouse'].map((c) => normalizePassword(c ?? '').toLowerCase()).filter((c) => c.length >= 3);
  if (words.includes(lower)) return say('password.own-name');
  if (cfg['refuse-common'] && strength().check(p, words).score < cfg['min-score']) {
    return say('password.guessable');
  }
  return undefined;
}

export type HashParams = IdentityConfig['passwords']['hash'];

export function argonOptions(p: HashParams) {
  return { type: argon2.argon2id, memoryCost: p['memory-cost'], timeCost: p['time-cost'], parallelism: p.parallelism } as const;
}

export function hashPassword(password: string, p: HashParams): Promise<string> {
  return argon2.hash(normalizePassword(password), argonOptions(p));
}

/**
 * Whether `password` matches `hash`: 'ok', 'legacy' (it matched only as typed, not normalized: a
 * hash made before passwords were normalized; rehash it) or false. A password that is not
 * already normalized costs a second verification, whatever the hash (so unknown accounts, with
 * their dummy hash, cost the same as real ones).
 */
export async function verifyPassword(hash: string, password: string): Promise<'ok' | 'legacy' | false> {
  const n = normalizePassword(password);
  if (await verify(hash, n)) return 'ok';
  if (n !== password && await verify(hash, password)) return 'legacy';
  return false;
}

async function verify(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function needsRehash(hash: string, p: HashParams): boolean {
  try {
    return argon2.needsRehash(hash, argonOptions(p));
  } catch {
    return true;
  }
}
