import type { X509Certificate } from 'node:crypto';
import { ConfigError } from '../../config/errors.js';
import { configDnKey, normalizeHex, normalizeSerial, parseThumbprint } from './names.js';
import { issuerCertificate } from './chain.js';
import type { ClientCertificate } from './peer.js';

/**
 * Identities: which certificates an API accepts, by thumbprint, serial number, names or issuer.
 * Compiled once at load into matchers; a certificate matches an identity when every attribute
 * given matches.
 */

export interface IdentityConfig {
  thumbprint?: string | undefined;
  'serial-number'?: string | undefined;
  'common-name'?: string | undefined;
  subject?: string | undefined;
  'dns-name'?: string | undefined;
  'issuer-subject'?: string | undefined;
  'issuer-thumbprint'?: string | undefined;
}

export type IdentityMatcher = (c: ClientCertificate, anchors: readonly X509Certificate[]) => boolean;

function attrError(err: unknown, attr: string | undefined): Error {
  return Object.assign(err as Error, { attr });
}

function thumbprintOf(attr: string, v: string): { alg: 'sha1' | 'sha256'; hex: string } {
  const t = parseThumbprint(v);
  if (!t) throw attrError(new Error('a thumbprint is the SHA-1 (40 hex digits) or SHA-256 (64 hex digits) of the certificate'), attr);
  return t;
}

function dnKeyOf(attr: string, v: string): string {
  try { return configDnKey(v); } catch (err) { throw attrError(err, attr); }
}

/**
 * Compile one identity: the certificate matches when every attribute given matches. Throws an
 * Error with `attr` naming the attribute when one is malformed.
 */
export function compileIdentity(id: IdentityConfig): IdentityMatcher {
  const checks: IdentityMatcher[] = [];
  if (id.thumbprint !== undefined) {
    const t = thumbprintOf('thumbprint', id.thumbprint);
    checks.push(t.alg === 'sha1' ? (c) => c.sha1 === t.hex : (c) => c.sha256 === t.hex);
  }
  if (id['serial-number'] !== undefined) {
    const s = normalizeSerial(id['serial-number']);
    if (!/^[0-9A-F]+$/.test(s)) throw attrError(new Error('a serial number is hex digits'), 'serial-number');
    checks.push((c) => c.serial === s);
  }
  if (id['common-name'] !== undefined) {
    const cn = id['common-name'];
    checks.push((c) => c.commonNames.includes(cn));
  }
  if (id.subject !== undefined) {
    const k = dnKeyOf('subject', id.subject);
    checks.push((c) => c.subjectKey === k);
  }
  if (id['dns-name'] !== undefined) {
    const d = id['dns-name'].toLowerCase();
    checks.push((c) => c.dnsNames.includes(d));
  }
  if (id['issuer-subject'] !== undefined) {
    const k = dnKeyOf('issuer-subject', id['issuer-subject']);
    checks.push((c) => c.issuerKey === k);
  }
  if (id['issuer-thumbprint'] !== undefined) {
    const t = thumbprintOf('issuer-thumbprint', id['issuer-thumbprint']);
    checks.push((c, anchors) => {
      const issuer = issuerCertificate(c, anchors);
      if (!issuer) return false;
      return t.alg === 'sha1' ? normalizeHex(issuer.fingerprint) === t.hex : normalizeHex(issuer.fingerprint256) === t.hex;
    });
  }
  if (checks.length === 0) throw attrError(new Error('an identity needs at least one attribute'), undefined);
  return (c, anchors) => {
    for (const check of checks) if (!check(c, anchors)) return false;
    return true;
  };
}

/** Compile a policy's `identities` list; a malformed one is a ConfigError at `identities[i].<attr>`. */
export function compileIdentities(list: readonly IdentityConfig[]): IdentityMatcher[] {
  return list.map((id, i) => {
    try {
      return compileIdentity(id);
    } catch (err) {
      const attr = (err as { attr?: string }).attr;
      throw new ConfigError((err as Error).message, attr ? ['identities', i, attr] : ['identities', i]);
    }
  });
}

/** True when the certificate matches at least one identity. */
export function matchesAny(identities: readonly IdentityMatcher[], c: ClientCertificate, anchors: readonly X509Certificate[]): boolean {
  for (const m of identities) if (m(c, anchors)) return true;
  return false;
}
