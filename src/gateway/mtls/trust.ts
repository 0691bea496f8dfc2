import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { parseCaBundle } from './pem.js';
import { parseCrl, type RevocationList } from './revocation.js';
import { WatchedFile } from './watched-file.js';

/**
 * The client trust material of one HTTPS listener: its `client-ca` certificates and its `crl`
 * lists, read and parsed when the listener starts, watched and reloaded when a file changes (a
 * broken file is refused and the previous content stays). Requests reach it through their
 * listener, so validate-client-certificate does no file I/O per request.
 *
 * A file that cannot be used when the listener starts is logged. A CRL that never loaded makes
 * every certificate checked against it refused as revoked (fail closed); a CA file that never
 * loaded adds no trust anchor. Either is picked up when the file is fixed.
 */
export interface ClientTrust {
  /** the listener's client-ca certificates, as currently loaded */
  anchors(): readonly X509Certificate[];
  /** the listener's CRL files, in config order; `value` is undefined while a file never loaded */
  readonly crls: ReadonlyArray<WatchedFile<RevocationList>>;
  /** stop watching the files */
  close(): void;
}

export interface ClientTrustFiles {
  /** absolute paths of the client-ca PEM bundles */
  clientCa: readonly string[];
  /** absolute paths of the CRL files (PEM or DER) */
  crl: readonly string[];
}

/** Load (and watch) a listener's client trust material. Never throws for a bad file. */
export function loadClientTrust(files: ClientTrustFiles, logger: Logger): ClientTrust {
  const cas = files.clientCa.map((path) => new WatchedFile(path, parseCaBundle, logger, 'client CA', (err) => {
    logger.error({ file: path, err: err.message }, 'listener client-ca cannot be read');
  }));
  const crls = files.crl.map((path) => new WatchedFile(path, parseCrl, logger, 'CRL', (err) => {
    logger.error({ file: path, err: describe(err) }, 'listener CRL cannot be used; certificates are refused as revoked');
  }));
  const none: readonly X509Certificate[] = [];
  return {
    anchors() {
      if (cas.length === 1) return cas[0]!.value ?? none;
      return cas.flatMap((f) => f.value ?? none);
    },
    crls,
    close() {
      for (const f of cas) f.close();
      for (const f of crls) f.close();
    },
  };
}

function describe(err: Error): string {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : err.message;
}
