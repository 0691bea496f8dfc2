/**
 * How certificates are named and numbered: hex thumbprints and serial numbers, distinguished
 * names as comparison keys (attribute order and case ignored) and as RFC 4514 strings, subject
 * alternative names, and a header-safe rendering of all of them.
 *
 * Thumbprints: a thumbprint of 40 hex digits is the SHA-1 of the certificate's DER encoding,
 * 64 hex digits is its SHA-256 (what `openssl x509 -fingerprint -sha1|-sha256` prints; colons
 * and case are ignored).
 */

/** Hex without separators, upper-case (`ab:cd` → `ABCD`). */
export function normalizeHex(s: string): string {
  return s.replace(/[\s:]/g, '').toUpperCase();
}

/** A serial number as a canonical hex string: upper-case, no separators, no leading zeros. */
export function normalizeSerial(s: string): string {
  return normalizeHex(s).replace(/^0+(?=.)/, '');
}

/** SHA-1 (40 hex) or SHA-256 (64 hex) thumbprint from config; undefined when it is neither. */
export function parseThumbprint(s: string): { alg: 'sha1' | 'sha256'; hex: string } | undefined {
  const hex = normalizeHex(s);
  if (!/^[0-9A-F]+$/.test(hex)) return undefined;
  if (hex.length === 40) return { alg: 'sha1', hex };
  if (hex.length === 64) return { alg: 'sha256', hex };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// distinguished names

const DN_ALIASES: Record<string, string> = {
  E: 'EMAILADDRESS', EMAIL: 'EMAILADDRESS', S: 'ST', STATEORPROVINCENAME: 'ST', COMMONNAME: 'CN',
  ORGANIZATIONNAME: 'O', ORGANIZATIONALUNITNAME: 'OU', COUNTRYNAME: 'C', LOCALITYNAME: 'L',
  DOMAINCOMPONENT: 'DC', STREETADDRESS: 'STREET', GIVENNAME: 'GN', SURNAME: 'SN',
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS', '0.9.2342.19200300.100.1.25': 'DC',
};

/** Undo RFC 4514 / OpenSSL escaping: `\,` → `,`, `\0D` → CR (hex pairs are UTF-8 bytes). */
function unescapeDnValue(v: string): string {
  if (!v.includes('\\')) return v;
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\' && i + 1 < v.length) {
      const pair = v.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(pair)) { bytes.push(parseInt(pair, 16)); i += 2; continue; }
      bytes.push(...Buffer.from(v[i + 1]!, 'utf8')); i += 1; continue;
    }
    bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Split on `sep` where it is not escaped with a backslash. */
function splitUnescaped(s: string, sep: RegExp): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) { cur += c + s[i + 1]; i++; continue; }
    sep.lastIndex = 0;
    const m = sep.exec(s.slice(i));
    if (m && m.index === 0) { out.push(cur); cur = ''; i += m[0].length - 1; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}

function attrKey(type: string, value: string): string {
  return rawAttrKey(type, unescapeDnValue(value.trim()));
}

function rawAttrKey(type: string, value: string): string {
  const t = type.trim().toUpperCase();
  return `${DN_ALIASES[t] ?? t}=${value.trim().replace(/\s+/g, ' ').toLowerCase()}`;
}

function dnKey(attrs: string[]): string {
  return attrs.sort().join('\n');
}

/**
 * A distinguished name from config (`CN=orders-client, O=Acme\, Inc`, RFC 4514 order or
 * certificate order, `,` or `;` between RDNs, `+` inside a multi-valued RDN) as a comparison key:
 * attribute order and case do not matter. Throws on a malformed name.
 */
export function configDnKey(s: string): string {
  const attrs: string[] = [];
  for (const rdn of splitUnescaped(s, /^[,;]/)) {
    if (rdn.trim() === '') continue;
    for (const ava of splitUnescaped(rdn, /^\+/)) {
      const eq = ava.indexOf('=');
      if (eq <= 0) throw new Error(`"${ava.trim()}" is not TYPE=value`);
      const type = ava.slice(0, eq).trim();
      if (!/^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/.test(type)) throw new Error(`"${type}" is not an attribute type`);
      attrs.push(attrKey(type, ava.slice(eq + 1)));
    }
  }
  if (attrs.length === 0) throw new Error('empty distinguished name');
  return dnKey(attrs);
}

/** Node's `X509Certificate.subject`/`issuer` (one RDN per line, OpenSSL escaping) as a key. */
export function nodeDnKey(s: string): string {
  const attrs: string[] = [];
  for (const line of s.split('\n')) {
    if (line === '') continue;
    for (const ava of splitUnescaped(line, /^ \+ /)) {
      const eq = ava.indexOf('=');
      if (eq > 0) attrs.push(attrKey(ava.slice(0, eq), ava.slice(eq + 1)));
    }
  }
  return dnKey(attrs);
}

type DnObject = Record<string, string | string[]> | undefined;

/** Comparison key of a subject/issuer object of a PeerCertificate (raw, unescaped values). */
export function objectDnKey(o: unknown): string {
  const attrs: string[] = [];
  for (const [type, v] of Object.entries((o ?? {}) as NonNullable<DnObject>)) {
    for (const value of Array.isArray(v) ? v : [v]) attrs.push(rawAttrKey(type, value));
  }
  return dnKey(attrs);
}

/** RFC 4514 string of a subject/issuer object (last RDN first), special characters escaped, header-safe. */
export function objectDnString(o: unknown): string {
  const parts: string[] = [];
  for (const [type, v] of Object.entries((o ?? {}) as NonNullable<DnObject>)) {
    for (const value of Array.isArray(v) ? v : [v]) parts.push(`${type}=${escapeRfc4514(value)}`);
  }
  return headerSafe(parts.reverse().join(','));
}

function escapeRfc4514(v: string): string {
  let out = v.replace(/[\\,+"<>;=]/g, '\\$&');
  if (out.startsWith(' ') || out.startsWith('#')) out = '\\' + out;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = out.slice(0, -1) + '\\ ';
  return out;
}

// ---------------------------------------------------------------------------------------------
// subject alternative names

/** Subject alternative names from Node's `subjectAltName` (`DNS:a, URI:b, DNS:"x, y"`). */
export function parseSubjectAltName(san: string | undefined): { dns: string[]; uri: string[] } {
  const dns: string[] = [];
  const uri: string[] = [];
  if (!san) return { dns, uri };
  const re = /(DNS|URI|IP Address|email|othername|DirName|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(san)) !== null) {
    let v = m[2]!;
    if (v.startsWith('"')) { try { v = JSON.parse(v) as string; } catch { continue; } }
    if (m[1] === 'DNS') dns.push(v.toLowerCase());
    else if (m[1] === 'URI') uri.push(v);
    if (re.lastIndex >= san.length) break;
  }
  return { dns, uri };
}

/** A header-safe rendering: printable ASCII stays, anything else becomes `\XX` (UTF-8 bytes). */
export function headerSafe(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return s;
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code < 0x7f) { out += ch; continue; }
    for (const b of Buffer.from(ch, 'utf8')) out += `\\${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
