import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList } from '@peculiar/asn1-x509';
import { derBlocks } from './pem.js';
import { normalizeSerial } from './names.js';
import type { ClientCertificate } from './peer.js';

/**
 * Revocation by CRL: a CRL file parsed into the serial numbers it lists (with the issuer of each
 * list), and the check of a certificate and its chain against them. A serial number revokes only
 * a certificate of the issuer whose CRL lists it.
 */

/** Revoked serial numbers of one CRL file (PEM with one or more CRLs, or DER). */
export interface RevocationList {
  /** serial (normalized hex) → DER of the issuer names of the CRLs that list it */
  revoked: Map<string, Buffer[]>;
  /** the earliest nextUpdate of the file's CRLs (ms), NaN when none says */
  nextUpdate: number;
  count: number;
}

/** Parse a CRL file. Throws when it holds no CRL or one that cannot be parsed. */
export function parseCrl(data: Buffer): RevocationList {
  const blocks = derBlocks(data, 'X509 CRL');
  if (blocks.length === 0) throw new Error('no X509 CRL found');
  const revoked = new Map<string, Buffer[]>();
  let nextUpdate = Number.NaN;
  let count = 0;
  for (const der of blocks) {
    let crl: CertificateList;
    try {
      crl = AsnConvert.parse(der, CertificateList);
    } catch (err) {
      throw new Error(`not a valid CRL: ${(err as Error).message}`, { cause: err });
    }
    const tbs = crl.tbsCertList;
    const issuer = Buffer.from(AsnConvert.serialize(tbs.issuer));
    const nu = tbs.nextUpdate?.getTime().getTime();
    if (nu !== undefined && !(nu >= nextUpdate)) nextUpdate = nu;
    for (const entry of tbs.revokedCertificates ?? []) {
      const serial = normalizeSerial(Buffer.from(entry.userCertificate).toString('hex'));
      const list = revoked.get(serial);
      if (list) list.push(issuer); else revoked.set(serial, [issuer]);
      count++;
    }
  }
  return { revoked, nextUpdate, count };
}

/** DER of a certificate's issuer name (parsed with the ASN.1 library; used on a CRL serial hit). */
export function issuerNameDer(der: Buffer): Buffer {
  const cert = AsnConvert.parse(der, Certificate);
  return Buffer.from(AsnConvert.serialize(cert.tbsCertificate.issuer));
}

/** True when the leaf or a certificate of its chain is listed in one of the CRLs. */
export function isRevoked(c: ClientCertificate, lists: ReadonlyArray<RevocationList>): boolean {
  const chain = c.chainEntries;
  for (let i = 0; i < lists.length; i++) {
    const revoked = lists[i]!.revoked;
    if (revoked.size === 0) continue;
    // the issuer name is only parsed when a serial number is listed (rare)
    const hit = revoked.get(c.serial);
    if (hit !== undefined && listedFor(hit, () => (c.issuerDer ??= issuerNameDer(c.der)))) return true;
    for (let k = 0; k < chain.length; k++) {
      const e = chain[k]!;
      if (e.selfSigned) continue; // a root is not revoked by a CRL
      const h = revoked.get(e.serial);
      if (h !== undefined && listedFor(h, () => (e.issuerDer ??= issuerNameDer(e.der)))) return true;
    }
  }
  return false;
}

function listedFor(issuers: readonly Buffer[], issuerDer: () => Buffer): boolean {
  let der: Buffer;
  try { der = issuerDer(); } catch { return true; } // unparsable certificate: fail closed
  for (const i of issuers) if (i.equals(der)) return true;
  return false;
}
