import type { X509Certificate } from 'node:crypto';
import type { ClientCertificate } from './peer.js';

/**
 * Chain verification against trust anchors, done by the gateway itself when OpenSSL's verdict is
 * not enough: OpenSSL reports only its last error, so behind a date error an untrusted chain can
 * hide. Also finds the certificate that actually signed a leaf (for issuer-thumbprint).
 */

/** OpenSSL verification errors that are about validity dates only. */
export const TIME_ERRORS: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'CRL_NOT_YET_VALID',
]);

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

export type ChainResult = 'ok' | 'untrusted' | 'expired' | 'not-yet-valid';

/** The certificate that signed `cert` among `candidates` (name link and signature checked). */
function signerOf(cert: X509Certificate, candidates: Iterable<X509Certificate>): X509Certificate | undefined {
  for (const c of candidates) {
    if (c === cert) continue;
    try {
      if (cert.checkIssued(c) && cert.verify(c.publicKey)) return c;
    } catch { /* unusable key */ }
  }
  return undefined;
}

/**
 * The certificate that actually signed the leaf, from the chain the connection presented (or
 * the CAs given); null when none did. An issuer-thumbprint identity compares against this,
 * never against an unsigned claim.
 */
export function issuerCertificate(c: ClientCertificate, anchors: readonly X509Certificate[] = []): X509Certificate | null {
  if (c.issuerCert === undefined || (c.issuerCert === null && anchors.length > 0)) {
    c.issuerCert = signerOf(c.x509, c.chain) ?? signerOf(c.x509, anchors) ?? null;
  }
  return c.issuerCert;
}

/**
 * Verify the chain from the leaf to one of `anchors` ourselves: each link's name and signature,
 * CA flag of every issuer, client-auth usage of the leaf, and (when asked) validity dates of the
 * intermediates. Used when Node's single `authorizationError` is a date error, because OpenSSL
 * then reports only the last error and an untrusted chain can hide behind it.
 */
export function verifyChain(c: ClientCertificate, anchors: readonly X509Certificate[], now: number, dates: { notBefore: boolean; notAfter: boolean }): ChainResult {
  if (anchors.length === 0) return 'untrusted';
  const eku = c.eku;
  if (eku && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) return 'untrusted';
  const anchorPrints = new Set(anchors.map((a) => a.fingerprint256));
  let cur = c.x509;
  for (let depth = 0; depth < 10; depth++) {
    if (anchorPrints.has(cur.fingerprint256)) return 'ok';
    const byAnchor = signerOf(cur, anchors);
    if (byAnchor) return 'ok';
    const next = signerOf(cur, c.chain);
    if (!next || !next.ca) return 'untrusted';
    if (dates.notBefore && Date.parse(next.validFrom) > now) return 'not-yet-valid';
    if (dates.notAfter && Date.parse(next.validTo) < now) return 'expired';
    cur = next;
  }
  return 'untrusted';
}
