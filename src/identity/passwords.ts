import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import argon2 from 'argon2';
import type { IdentityConfig } from './schema.js';

let common: Set<string> | undefined;

/** The 10,000 most common passwords (shipped at src/identity/common-passwords.txt). */
export function commonPasswords(): Set<string> {
  if (common) return common;
  const here = dirname(fileURLToPath(import.meta.url));
  // compiled code runs from dist/src/identity; the list stays in src/identity
  const candidates = [join(here, 'common-passwords.txt'), join(here, '../../../src/identity/common-passwords.txt')];
  for (const file of candidates) {
    try {
      common = new Set(readFileSync(file, 'utf8').split('\n').map((l) => l.trim().toLowerCase()).filter(Boolean));
      return common;
    } catch { /* try the next */ }
  }
  throw new Error('common-passwords.txt not found next to the identity sources');
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function checkPasswordPolicy(password: string, cfg: IdentityConfig['passwords'], context: string[] = []): string | undefined {
  if (typeof password !== 'string' || password.length < cfg['min-length']) return `Use at least ${cfg['min-length']} characters.`;
  if (password.length > 256) return 'Use at most 256 characters.';
  const lower = password.toLowerCase();
  if (cfg['refuse-common'] && commonPasswords().has(lower)) return 'This password is one of the most common ones; choose another.';
  for (const c of context) if (c && c.length >= 3 && lower === c.toLowerCase()) return 'Do not use your username or email address as the password.';
  return undefined;
}

export type HashParams = IdentityConfig['passwords']['hash'];

export function argonOptions(p: HashParams) {
  return { type: argon2.argon2id, memoryCost: p['memory-cost'], timeCost: p['time-cost'], parallelism: p.parallelism } as const;
}

export function hashPassword(password: string, p: HashParams): Promise<string> {
  return argon2.hash(password, argonOptions(p));
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
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
