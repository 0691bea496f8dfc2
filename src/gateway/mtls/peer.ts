import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { Exchange } from '../exchange.js';
import { normalizeHex, normalizeSerial, objectDnKey, objectDnString, parseSubjectAltName } from './names.js';

/**
 * The certificate a connection presented, as facts computed once per connection from the
 * PeerCertificate Node already parsed during the handshake. X509Certificate objects (for
 * signature checks) are only made when a check needs them.
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

/**
 * What `getPeerCertificate(true)` returns, built from X509Certificate objects: the leaf linked to
 * its chain (tests, tools).
 */
export function peerCertificateOf(x509: X509Certificate, chain: readonly X509Certificate[]): DetailedPeerCertificate {
  const objs = [x509, ...chain].map((x) => x.toLegacyObject() as DetailedPeerCertificate);
  for (let i = 0; i < objs.length; i++) {
    const x = i === 0 ? x509 : chain[i - 1]!;
    objs[i]!.issuerCertificate = x.checkIssued(x) ? objs[i]! : objs[i + 1]!;
  }
  return objs[0]!;
}

/** Facts of a certificate and its chain given as X509Certificate objects (tests, tools). */
export function describeCertificate(x509: X509Certificate, chain: X509Certificate[], authorized: boolean, authorizationError: string | undefined): ClientCertificate {
  return fromPeerCertificate(peerCertificateOf(x509, chain), authorized, authorizationError);
}
