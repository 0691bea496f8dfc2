/**
 * An Exchange as it arrives on an HTTPS listener with client certificates: the socket answers
 * `getPeerCertificate(true)` with the certificate (linked to its chain) and OpenSSL's verdict, as
 * Node's TLSSocket does after the handshake; the listener carries its client trust material.
 */
import type { IncomingMessage } from 'node:http';
import { Exchange } from '../../../src/gateway/exchange.js';
import { peerCertificateOf } from '../../../src/gateway/mtls/peer.js';
import type { ClientTrust } from '../../../src/gateway/mtls/trust.js';
import type { Issued } from '../../helpers/certs.js';

export interface TlsRequest {
  /** the certificate the client presented (none when omitted) */
  cert?: Issued;
  /** what the client sent after it (default: nothing) */
  chain?: Issued[];
  /** OpenSSL's verdict against the listener's client-ca */
  authorized?: boolean;
  /** OpenSSL's (last) verification error, e.g. CERT_HAS_EXPIRED */
  error?: string;
  /** the listener's client trust material */
  trust?: ClientTrust;
  protocol?: 'http' | 'https';
  headers?: Array<[string, string]>;
}

export function tlsExchange(r: TlsRequest = {}): Exchange {
  const peer = r.cert ? peerCertificateOf(r.cert.x509, (r.chain ?? []).map((c) => c.x509)) : {};
  const socket = {
    getPeerCertificate: () => peer,
    authorized: r.authorized ?? false,
    authorizationError: r.error ?? (r.cert ? null : 'UNABLE_TO_GET_ISSUER_CERT'),
  };
  const headers: Record<string, string> = {};
  const raw: string[] = [];
  for (const [k, v] of r.headers ?? []) { headers[k.toLowerCase()] = v; raw.push(k, v); }
  const req = { headers, rawHeaders: raw, url: '/orders/1', method: 'GET', socket } as unknown as IncomingMessage;
  const listener = { name: 'https', protocol: r.protocol ?? 'https', crl: [] as string[], clientTrust: r.trust };
  const ex = new Exchange(req, null, 'req-1', '127.0.0.1', listener, 'GET', '/orders/1', '', Date.now());
  ex.upstreamHeaders = { ...headers };
  return ex;
}
