import { X509Certificate } from 'node:crypto';

/** Reading certificate material from files: PEM blocks (or a single DER object) and CA bundles. */

/** PEM blocks of one label in a file, as DER; when there is no PEM block the file is DER. */
export function derBlocks(data: Buffer, label: string): Buffer[] {
  const text = data.toString('latin1');
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, 'g');
  const out: Buffer[] = [];
  for (const m of text.matchAll(re)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  if (out.length === 0 && !text.includes('-----BEGIN')) out.push(data);
  return out;
}

/** Certificates of a PEM bundle. Throws when there is none or one cannot be parsed. */
export function parseCaBundle(data: Buffer): X509Certificate[] {
  const certs = derBlocks(data, 'CERTIFICATE').map((d) => new X509Certificate(d));
  if (certs.length === 0) throw new Error('no certificate found');
  return certs;
}
