import type { Headers } from '../reply.js';
import { headerSafe } from './names.js';
import type { ClientCertificate } from './peer.js';

/**
 * What the backend learns about the client certificate: the `X-Forwarded-Client-Cert` header
 * (the format Envoy and other proxies use) and, for backends that do not read it, individual
 * headers. Every header the gateway may set is removed from the incoming request first, so a
 * client cannot forge one.
 */

/** A quoted XFCC value: `\\` and `"` are escaped, so a subject can never end the quotes early. */
function quoted(v: string): string {
  return `"${v.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * The `X-Forwarded-Client-Cert` value:
 * `Hash=<sha256 hex>;Cert="<url-encoded PEM>";Subject="<RFC 4514>";URI=<uri>;DNS=<name>`.
 * The `Hash` is always SHA-256.
 */
export function formatXfcc(c: ClientCertificate, includePem: boolean): string {
  let v = `Hash=${c.sha256.toLowerCase()}`;
  if (includePem) v += `;Cert=${quoted(encodeURIComponent(c.pem))}`;
  v += `;Subject=${quoted(c.subject)}`;
  for (const u of c.uris) v += `;URI=${encodeURI(u).replace(/[;,"=]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase())}`;
  for (const d of c.dnsNames) v += `;DNS=${headerSafe(d).replace(/[;,"=]/g, '')}`;
  return v;
}

/** Individual headers for the details (`forward-headers`), each optional. */
export interface ForwardHeaderNames {
  thumbprint?: string | undefined;
  'thumbprint-sha1'?: string | undefined;
  subject?: string | undefined;
  'issuer-subject'?: string | undefined;
  'serial-number'?: string | undefined;
  'dns-names'?: string | undefined;
  pem?: string | undefined;
}

export interface ForwardOptions {
  /** send X-Forwarded-Client-Cert */
  xfcc: boolean;
  /** its header name */
  xfccName: string;
  /** add the URL-encoded PEM (`Cert=`) */
  includePem: boolean;
  headers: ForwardHeaderNames;
}

const VALUES: ReadonlyArray<[keyof ForwardHeaderNames, (c: ClientCertificate) => string]> = [
  ['thumbprint', (c) => c.sha256.toLowerCase()],
  ['thumbprint-sha1', (c) => c.sha1.toLowerCase()],
  ['subject', (c) => c.subject],
  ['issuer-subject', (c) => c.issuer],
  ['serial-number', (c) => c.serial],
  ['dns-names', (c) => c.dnsNames.map(headerSafe).join(',')],
  ['pem', (c) => encodeURIComponent(c.pem)],
];

/** How one policy forwards: `strip` removes every header it may set, `forward` sets them. */
export interface Forwarding {
  strip(up: Headers): void;
  forward(up: Headers, c: ClientCertificate): void;
}

export function compileForwarding(o: ForwardOptions): Forwarding {
  const xfccName = o.xfccName.toLowerCase();
  const individual: Array<[string, (c: ClientCertificate) => string]> = [];
  for (const [key, value] of VALUES) {
    const name = o.headers[key];
    if (name) individual.push([name.toLowerCase(), value]);
  }
  const names = [xfccName, ...individual.map(([n]) => n)];
  const { xfcc, includePem } = o;
  return {
    strip(up) {
      for (let i = 0; i < names.length; i++) delete up[names[i]!];
    },
    forward(up, c) {
      if (xfcc) up[xfccName] = includePem ? (c.xfccPem ??= formatXfcc(c, true)) : (c.xfcc ??= formatXfcc(c, false));
      for (let i = 0; i < individual.length; i++) up[individual[i]![0]] = individual[i]![1](c);
    },
  };
}
