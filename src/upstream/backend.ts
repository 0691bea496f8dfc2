import { readFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { resolve } from 'node:path';
import { Pool, type Dispatcher } from 'undici';
import { ConfigError } from '../config/errors.js';
import { Admission } from './admission.js';
import type { BackendConfig } from './schema.js';

/**
 * A backend as the request path sees it: where it is (origin, base path, Host), an undici
 * Dispatcher that sends requests to it, and the admission that bounds what waits for it.
 * Today the dispatcher is one connection pool; load-balanced targets, health checks, retries and
 * circuit breaking plug in here as a Dispatcher that picks a target per request (see README.md).
 */
export interface Backend {
  readonly name: string;
  /** scheme://host:port */
  readonly origin: string;
  /** the backend URL's path without trailing slash */
  readonly basePath: string;
  /** Host header sent to the backend */
  readonly host: string;
  readonly dispatcher: Dispatcher;
  /** requests in flight and waiting (bounded queue with a timeout) */
  readonly admission: Admission;
  readonly config: BackendConfig;
}

/** Build a backend; file paths (CA, client certificate) resolve against `dir`. Throws ConfigError. */
export function createBackend(name: string, b: BackendConfig, dir: string): Backend {
  const url = new URL(b.url);
  const dispatcher = new Pool(url.origin, {
    connections: b.connections,
    keepAliveTimeout: b['keep-alive-timeout'] * 1000,
    headersTimeout: b.timeout * 1000,
    bodyTimeout: b.timeout * 1000,
    connect: connectOptions(name, url, b, dir),
  });
  const admission = new Admission(b.connections, b['max-pending'], b['queue-timeout'] * 1000);
  return { name, origin: url.origin, basePath: url.pathname.replace(/\/+$/, ''), host: url.host, dispatcher, admission, config: b };
}

function connectOptions(name: string, url: URL, b: BackendConfig, dir: string): Record<string, unknown> {
  const tls = b.tls;
  const connect: Record<string, unknown> = { timeout: b['connect-timeout'] * 1000 };
  if (url.protocol !== 'https:' || !tls) return connect;
  const read = (f: string, key: string) => {
    try { return readFileSync(resolve(dir, f)); } catch { throw new ConfigError(`cannot read ${f}`, [name, 'tls', key]); }
  };
  if (tls.ca) connect.ca = (Array.isArray(tls.ca) ? tls.ca : [tls.ca]).map((f) => read(f, 'ca'));
  if (tls.servername) connect.servername = tls.servername;
  if (tls.cert) connect.cert = read(tls.cert, 'cert');
  if (tls.key) connect.key = read(tls.key, 'key');
  if (tls.passphrase) connect.passphrase = tls.passphrase;
  if (tls['insecure-skip-verify']) connect.rejectUnauthorized = false;
  const pins = tls['pin-sha256'];
  if (pins?.length) connect.checkServerIdentity = pinnedIdentity(new Set(pins));
  return connect;
}

/** The usual host name check, then: some certificate of the chain carries a pinned public key. */
function pinnedIdentity(wanted: ReadonlySet<string>) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const err = checkServerIdentity(host, cert);
    if (err) return err;
    // any certificate of the presented chain may carry the pinned key (leaf or an intermediate)
    for (let c: PeerCertificate | undefined = cert, i = 0; c && i < 10; c = (c as DetailedPeerCertificate).issuerCertificate, i++) {
      // the pin is over the DER SubjectPublicKeyInfo (PeerCertificate.pubkey is the raw key for EC)
      if (c.raw && wanted.has(createHash('sha256').update(new X509Certificate(c.raw).publicKey.export({ type: 'spki', format: 'der' })).digest('base64'))) return undefined;
      if ((c as DetailedPeerCertificate).issuerCertificate === c) break;
    }
    return Object.assign(new Error('backend certificate does not match pin-sha256'), { code: 'ERR_TLS_PIN_MISMATCH' });
  };
}

/** Close a backend's connections (after in-flight requests had their time). */
export function closeBackend(b: Backend): Promise<void> {
  return b.dispatcher.close();
}
