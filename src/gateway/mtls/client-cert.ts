import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { watchFile } from '../../net/watch-file.js';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList } from '@peculiar/asn1-x509';
import type { Exchange } from '../exchange.js';

/**
 * Client certificates (mTLS) as validate-client-certificate sees them: the facts of the
 * certificate a connection presented (computed once per connection), CRLs and CA bundles read
 * from files and reloaded when the files change, identity matching and X-Forwarded-Client-Cert.
 *
 * Thumbprints: a thumbprint of 40 hex digits is the SHA-1 of the certificate's DER encoding,
 * 64 hex digits is its SHA-256 (what `openssl x509 -fingerprint -sha1|-sha256` prints; colons
 * and case are ignored). The forwarded `Hash` is always SHA-256.
 */

// ---------------------------------------------------------------------------------------------
// small normalizers

/** Hex without separators, upper-case (`ab:cd` → `ABCD`). */
export function normalizeHex(s: string): string {
  return s.replace(/[\s:]/g, '').toUpperCase();
}

/** A serial number as a canonical hex string: upper-case, no separators, no leading zeros. */
export function normalizeSerial(s: string): string {
  const h = normalizeHex(s).replace(/^0+(?=.)/, '');
  return h;
}

/** SHA-1 (40 hex) or SHA-256 (64 hex) thumbprint from config; undefined when it is neither. */
export function parseThumbprint(s: string): { alg: 'sha1' | 'sha256'; hex: string } | undefined {
  const hex = normalizeHex(s);
  if (!/^[0-9A-F]+$/.test(hex)) return undefined;
  if (hex.length === 40) return { alg: 'sha1', hex };
  if (hex.length === 64) return { alg: 'sha256', hex };
  return undefined;
}

export function thumbprint(der: Buffer, alg: 'sha1' | 'sha256'): string {
  return createHash(alg).update(der).digest('hex').toUpperCase();
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

// ---------------------------------------------------------------------------------------------
// files reloaded on change

/**
 * A file parsed into T, reloaded (debounced) when it changes. A file that cannot be read or
 * parsed on reload is refused with an error log line and the previous value stays.
 */
export class WatchedFile<T> {
  private current: T;
  private watcher: { close(): void } | undefined;
  private closed = false;

  /** Throws when the file cannot be read or parsed the first time. */
  constructor(readonly path: string, private readonly parse: (data: Buffer) => T, private readonly logger: Logger, private readonly what: string) {
    this.current = parse(readFileSync(path));
    this.watchFile();
  }

  private watchFile(): void {
    this.watcher = watchFile(this.path, () => this.reload(), { logger: this.logger, what: `${this.what} file`, debounceMs: 100 });
  }

  get value(): T {
    return this.current;
  }

  reload(): boolean {
    if (this.closed) return false;
    try {
      this.current = this.parse(readFileSync(this.path));
    } catch (err) {
      this.logger.error({ file: this.path, err: (err as Error).message }, `${this.what} reload refused; the previous one stays`);
      return false;
    }
    this.logger.info({ file: this.path }, `${this.what} reloaded`);
    return true;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
  }
}

/** PEM blocks of one label in a file, as DER; when there is no PEM block the file is DER. */
function derBlocks(data: Buffer, label: string): Buffer[] {
  const text = data.toString('latin1');
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, 'g');
  const out: Buffer[] = [];
  for (const m of text.matchAll(re)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  if (out.length === 0 && !text.includes('-----BEGIN')) out.push(data);
  return out;
}

/** Revoked serial numbers of one CRL file (PEM with one or more CRLs, or DER). */
export interface RevocationList {
  /** serial (normalized hex) → DER of the issuer names of the CRLs that list it */
  revoked: Map<string, Buffer[]>;
  /** the earliest nextUpdate of the file's CRLs (ms), NaN when none says */
  nextUpdate: number;
  count: number;
}

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

/** Certificates of a PEM bundle. */
export function parseCaBundle(data: Buffer): X509Certificate[] {
  const certs = derBlocks(data, 'CERTIFICATE').map((d) => new X509Certificate(d));
  if (certs.length === 0) throw new Error('no certificate found');
  return certs;
}

/** DER of a certificate's issuer name (parsed with the ASN.1 library; used on a CRL serial hit). */
export function issuerNameDer(der: Buffer): Buffer {
  const cert = AsnConvert.parse(der, Certificate);
  return Buffer.from(AsnConvert.serialize(cert.tbsCertificate.issuer));
}

// ---------------------------------------------------------------------------------------------
// the certificate a connection presented

/**
 * The facts of the certificate a connection presented, taken from the PeerCertificate Node
 * already parsed during the handshake. X509Certificate objects (for signature checks) are only
 * made when a check needs them.
 */
export class ClientCertificate {
  readonly der: Buffer;
  readonly sha1: string;
  readonly sha256: string;
  readonly serial: string;
  /** RFC 4514 strings (last RDN first), header-safe */
  readonly subject: string;
  readonly issuer: string;
  /** comparison keys (attribute order and case ignored) */
  readonly subjectKey: string;
  readonly issuerKey: string;
  readonly commonNames: readonly string[];
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  /** extended key usage OIDs, undefined when the certificate has none */
  readonly eku: readonly string[] | undefined;
  /** the other certificates Node links to the leaf: the client's chain, then the CA it found */
  readonly chainEntries: ReadonlyArray<{ der: Buffer; serial: string; selfSigned: boolean; issuerDer?: Buffer }>;
  /** computed on first use */
  issuerCert?: X509Certificate | null;
  issuerDer?: Buffer;
  xfcc?: string;
  xfccPem?: string;
  private _x509: X509Certificate | undefined;
  private _chain: X509Certificate[] | undefined;

  constructor(
    peer: PeerCertificate,
    chain: ReadonlyArray<PeerCertificate & { selfSigned?: boolean }>,
    /** Node's verdict against the listener's client-ca (made during the handshake) */
    readonly authorized: boolean,
    readonly authorizationError: string | undefined,
  ) {
    const san = parseSubjectAltName(peer.subjectaltname);
    this.der = peer.raw;
    this.sha1 = normalizeHex(peer.fingerprint);
    this.sha256 = normalizeHex(peer.fingerprint256);
    this.serial = normalizeSerial(peer.serialNumber);
    this.subject = objectDnString(peer.subject);
    this.issuer = objectDnString(peer.issuer);
    this.subjectKey = objectDnKey(peer.subject);
    this.issuerKey = objectDnKey(peer.issuer);
    const cn = (peer.subject as unknown as Record<string, string | string[]> | undefined)?.CN;
    this.commonNames = cn === undefined ? [] : Array.isArray(cn) ? cn : [cn];
    this.dnsNames = san.dns;
    this.uris = san.uri;
    this.notBefore = Date.parse(peer.valid_from);
    this.notAfter = Date.parse(peer.valid_to);
    const eku = (peer as { ext_key_usage?: string[] }).ext_key_usage;
    this.eku = eku && eku.length > 0 ? eku : undefined;
    this.chainEntries = chain.map((c) => ({ der: c.raw, serial: normalizeSerial(c.serialNumber), selfSigned: c.selfSigned === true }));
  }

  /** the leaf as an X509Certificate (made on first use) */
  get x509(): X509Certificate {
    return (this._x509 ??= new X509Certificate(this.der));
  }

  get chain(): readonly X509Certificate[] {
    return (this._chain ??= this.chainEntries.map((e) => new X509Certificate(e.der)));
  }

  /** PEM of the leaf */
  get pem(): string {
    const b64 = this.der.toString('base64').replace(/.{64}(?=.)/g, '$&\n');
    return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  }
}

const NONE = Symbol('no client certificate');
const perConnection = new WeakMap<object, ClientCertificate | typeof NONE>();

/**
 * The client certificate of the request's connection, or undefined. Computed once per
 * connection (HTTP/1.1 keep-alive requests and HTTP/2 streams share it): the certificate is
 * fixed by the handshake. Never throws.
 */
export function clientCertificate(ex: Exchange): ClientCertificate | undefined {
  if (ex.listener.protocol !== 'https') return undefined;
  const req = ex.req as unknown as { stream?: { session?: object }; socket: object };
  let key: object | undefined;
  try {
    key = req.stream?.session ?? req.socket;
  } catch {
    return undefined;
  }
  if (!key) return undefined;
  const cached = perConnection.get(key);
  if (cached !== undefined) return cached === NONE ? undefined : cached;
  let facts: ClientCertificate | undefined;
  try {
    facts = readPeer(ex.req.socket as TLSSocket);
  } catch {
    facts = undefined;
  }
  perConnection.set(key, facts ?? NONE);
  return facts;
}

function readPeer(socket: TLSSocket): ClientCertificate | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate(true) as DetailedPeerCertificate | null;
  if (!peer || !peer.raw) return undefined;
  const err = socket.authorizationError as unknown;
  const code = err === null || err === undefined ? undefined : String((err as { code?: string }).code ?? err);
  return fromPeerCertificate(peer, socket.authorized === true, code);
}

/** Facts from a DetailedPeerCertificate (`getPeerCertificate(true)` or `x509.toLegacyObject()` linked by hand). */
export function fromPeerCertificate(peer: DetailedPeerCertificate, authorized: boolean, authorizationError: string | undefined): ClientCertificate {
  const chain: Array<PeerCertificate & { selfSigned?: boolean }> = [];
  const seen = new Set<DetailedPeerCertificate>([peer]);
  for (let c = peer.issuerCertificate; c && c.raw && !seen.has(c) && chain.length < 10; c = c.issuerCertificate) {
    seen.add(c);
    chain.push(Object.assign(Object.create(c) as PeerCertificate, { selfSigned: c.issuerCertificate === c }));
  }
  return new ClientCertificate(peer, chain, authorized, authorizationError);
}

/** Build what `getPeerCertificate(true)` returns from X509Certificate objects (tests, tools). */
export function describeCertificate(x509: X509Certificate, chain: X509Certificate[], authorized: boolean, authorizationError: string | undefined): ClientCertificate {
  const objs = [x509, ...chain].map((x) => x.toLegacyObject() as DetailedPeerCertificate);
  for (let i = 0; i < objs.length; i++) {
    const x = i === 0 ? x509 : chain[i - 1]!;
    objs[i]!.issuerCertificate = x.checkIssued(x) ? objs[i]! : objs[i + 1]!;
  }
  return fromPeerCertificate(objs[0]!, authorized, authorizationError);
}

type DnObject = Record<string, string | string[]> | undefined;

/** Comparison key of a subject/issuer object of a PeerCertificate (raw, unescaped values). */
function objectDnKey(o: unknown): string {
  const attrs: string[] = [];
  for (const [type, v] of Object.entries((o ?? {}) as NonNullable<DnObject>)) {
    for (const value of Array.isArray(v) ? v : [v]) attrs.push(rawAttrKey(type, value));
  }
  return dnKey(attrs);
}

/** RFC 4514 string of a subject/issuer object (last RDN first), special characters escaped, header-safe. */
function objectDnString(o: unknown): string {
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

/** OpenSSL verification errors that are about validity dates only. */
export const TIME_ERRORS: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'CRL_NOT_YET_VALID',
]);

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

export type ChainResult = 'ok' | 'untrusted' | 'expired' | 'not-yet-valid';

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

// ---------------------------------------------------------------------------------------------
// identities

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

/**
 * Compile one identity: the certificate matches when every attribute given matches. Throws an
 * Error naming the attribute when one is malformed.
 */
export function compileIdentity(id: IdentityConfig): IdentityMatcher {
  const checks: IdentityMatcher[] = [];
  const thumb = (attr: string, v: string) => {
    const t = parseThumbprint(v);
    if (!t) throw Object.assign(new Error('a thumbprint is the SHA-1 (40 hex digits) or SHA-256 (64 hex digits) of the certificate'), { attr });
    return t;
  };
  if (id.thumbprint !== undefined) {
    const t = thumb('thumbprint', id.thumbprint);
    checks.push(t.alg === 'sha1' ? (c) => c.sha1 === t.hex : (c) => c.sha256 === t.hex);
  }
  if (id['serial-number'] !== undefined) {
    const s = normalizeSerial(id['serial-number']);
    if (!/^[0-9A-F]+$/.test(s)) throw Object.assign(new Error('a serial number is hex digits'), { attr: 'serial-number' });
    checks.push((c) => c.serial === s);
  }
  if (id['common-name'] !== undefined) {
    const cn = id['common-name'];
    checks.push((c) => c.commonNames.includes(cn));
  }
  if (id.subject !== undefined) {
    let k: string;
    try { k = configDnKey(id.subject); } catch (err) { throw Object.assign(err as Error, { attr: 'subject' }); }
    checks.push((c) => c.subjectKey === k);
  }
  if (id['dns-name'] !== undefined) {
    const d = id['dns-name'].toLowerCase();
    checks.push((c) => c.dnsNames.includes(d));
  }
  if (id['issuer-subject'] !== undefined) {
    let k: string;
    try { k = configDnKey(id['issuer-subject']); } catch (err) { throw Object.assign(err as Error, { attr: 'issuer-subject' }); }
    checks.push((c) => c.issuerKey === k);
  }
  if (id['issuer-thumbprint'] !== undefined) {
    const t = thumb('issuer-thumbprint', id['issuer-thumbprint']);
    checks.push((c, anchors) => {
      const issuer = issuerCertificate(c, anchors);
      if (!issuer) return false;
      return t.alg === 'sha1' ? normalizeHex(issuer.fingerprint) === t.hex : normalizeHex(issuer.fingerprint256) === t.hex;
    });
  }
  if (checks.length === 0) throw Object.assign(new Error('an identity needs at least one attribute'), { attr: undefined });
  return (c, anchors) => {
    for (const check of checks) if (!check(c, anchors)) return false;
    return true;
  };
}

// ---------------------------------------------------------------------------------------------
// forwarding

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

/** A quoted XFCC value: `\\` and `"` are escaped, so a subject can never end the quotes early. */
function quoted(v: string): string {
  return `"${v.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * The `X-Forwarded-Client-Cert` value, in the format Envoy and other proxies use:
 * `Hash=<sha256 hex>;Cert="<url-encoded PEM>";Subject="<RFC 4514>";URI=<uri>;DNS=<name>`.
 */
export function formatXfcc(c: ClientCertificate, includePem: boolean): string {
  let v = `Hash=${c.sha256.toLowerCase()}`;
  if (includePem) v += `;Cert=${quoted(encodeURIComponent(c.pem))}`;
  v += `;Subject=${quoted(c.subject)}`;
  for (const u of c.uris) v += `;URI=${encodeURI(u).replace(/[;,"=]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase())}`;
  for (const d of c.dnsNames) v += `;DNS=${headerSafe(d).replace(/[;,"=]/g, '')}`;
  return v;
}
