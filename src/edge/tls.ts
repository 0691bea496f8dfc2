import { readFileSync } from 'node:fs';
import { watchFile } from '../net/watch-file.js';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { HttpsListenerConfig } from './schema.js';
import { ConfigError } from '../config/errors.js';

/**
 * Certificates of one HTTPS listener: the default one and the ones chosen by SNI (exact names
 * and `*.wildcards`, taken from each certificate's DNS names). Files are watched; a changed file
 * is reloaded without touching established connections, and a broken one is refused with a log
 * line while the old certificate stays.
 */

export interface LoadedCert {
  /** DNS names (lower-case) the certificate covers, from SAN (or CN when there is no SAN) */
  names: string[];
  context: SecureContext;
  options: SecureContextOptions;
}

/** A file named in the config, read; a failure is a ConfigError at `path` that says what to do. */
function readConfigFile(dir: string, file: string, path: Array<string | number>): Buffer {
  const full = resolve(dir, file);
  try {
    return readFileSync(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not readable by this user' : code === 'EISDIR' ? 'a directory, not a file' : 'cannot be read';
    throw new ConfigError(`${full} is ${why} (paths are relative to the config file's folder)`, path);
  }
}

/**
 * Every file an HTTPS listener names, read and parsed as the listener will at start: used when a
 * config is compiled (validate, start, reload), so a missing or broken file is a located config
 * error instead of a failure once the listener starts.
 */
export function httpsListenerFileErrors(cfg: HttpsListenerConfig, dir: string, logger: Logger): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const [j, f] of cfg['client-ca'].entries()) {
    try {
      new X509Certificate(readConfigFile(dir, f, ['client-ca', j]));
    } catch (err) {
      errors.push(err instanceof ConfigError ? err : new ConfigError(`${f} is not a PEM certificate`, ['client-ca', j]));
    }
  }
  for (const [j, f] of cfg.crl.entries()) {
    try { readConfigFile(dir, f, ['crl', j]); } catch (err) { errors.push(err as ConfigError); }
  }
  if (errors.length === 0) {
    try {
      new CertificateSet(cfg, dir, logger);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err);
    }
  }
  return errors;
}

export class CertificateSet {
  private certs: LoadedCert[] = [];
  private exact = new Map<string, LoadedCert>();
  private wildcard = new Map<string, LoadedCert>();
  private watchers: Array<{ close(): void }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** called with the new default context options after a reload */
  onReload: ((defaults: SecureContextOptions) => void) | undefined;

  constructor(private readonly cfg: HttpsListenerConfig, private readonly dir: string, private readonly logger: Logger) {
    this.load(true);
  }

  /** Secure context options shared by every certificate (client CA, versions, ciphers). */
  private common(): SecureContextOptions {
    const ca = this.cfg['client-ca'].map((f, j) => readConfigFile(this.dir, f, ['client-ca', j]));
    return {
      minVersion: this.cfg['min-version'],
      ...(this.cfg.ciphers ? { ciphers: this.cfg.ciphers } : {}),
      ...(ca.length ? { ca } : {}),
      honorCipherOrder: true,
    };
  }

  private load(initial: boolean): void {
    const common = this.common();
    const certs: LoadedCert[] = this.cfg.certificates.map((c, i) => {
      const cert = readConfigFile(this.dir, c.cert, ['certificates', i, 'cert']);
      const key = readConfigFile(this.dir, c.key, ['certificates', i, 'key']);
      const options: SecureContextOptions = { ...common, cert, key, passphrase: c.passphrase };
      let context: SecureContext;
      let x509: X509Certificate;
      try {
        context = createSecureContext(options);
        x509 = new X509Certificate(cert);
      } catch (err) {
        throw new ConfigError(`certificate ${c.cert} / key ${c.key} cannot be used: ${(err as Error).message}`, ['certificates', i]);
      }
      if (initial && new Date(x509.validTo).getTime() < Date.now()) {
        this.logger.warn({ cert: c.cert, validTo: x509.validTo }, 'certificate has expired');
      }
      return { names: dnsNames(x509), context, options };
    });
    const exact = new Map<string, LoadedCert>();
    const wildcard = new Map<string, LoadedCert>();
    for (const c of certs.slice(1).reverse().concat(certs[0]!)) {
      for (const n of c.names) (n.startsWith('*.') ? wildcard : exact).set(n.startsWith('*.') ? n.slice(2) : n, c);
    }
    // earlier certificates win over later ones for the same name (the map is filled in reverse)
    this.certs = certs;
    this.exact = exact;
    this.wildcard = wildcard;
  }

  get default(): LoadedCert {
    return this.certs[0]!;
  }

  /** The certificate for an SNI name (exact, then one-label wildcard, then the default). */
  forName(servername: string | undefined): LoadedCert {
    if (!servername) return this.default;
    const n = servername.toLowerCase();
    const e = this.exact.get(n);
    if (e) return e;
    const dot = n.indexOf('.');
    if (dot !== -1) {
      const w = this.wildcard.get(n.slice(dot + 1));
      if (w) return w;
    }
    return this.default;
  }

  /** True when one certificate serves both names (HTTP/2 connection reuse is fine then). */
  sameCertificate(a: string | undefined, b: string): boolean {
    return this.forName(a) === this.forName(b);
  }

  /** Whether any certificate names this host explicitly (exact or wildcard). */
  covers(host: string): boolean {
    const n = host.toLowerCase();
    if (this.exact.has(n)) return true;
    const dot = n.indexOf('.');
    return dot !== -1 && this.wildcard.has(n.slice(dot + 1));
  }

  sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.forName(servername).context);
  };

  /** Watch the certificate, key and CA files; reload (debounced) when one changes. */
  watch(): void {
    const files = new Set<string>();
    for (const c of this.cfg.certificates) { files.add(resolve(this.dir, c.cert)); files.add(resolve(this.dir, c.key)); }
    for (const f of this.cfg['client-ca']) files.add(resolve(this.dir, f));
    // a cert and its key are often replaced together: one reload for the pair
    const changed = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reload(), 100);
      this.timer.unref();
    };
    for (const f of files) this.watchers.push(watchFile(f, changed, { logger: this.logger, what: 'certificate file' }));
  }

  reload(): boolean {
    try {
      this.load(false);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'certificate reload refused; the previous certificates stay');
      return false;
    }
    this.logger.info({ certificates: this.certs.length }, 'certificates reloaded');
    this.onReload?.(this.default.options);
    return true;
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
  }
}

function dnsNames(x: X509Certificate): string[] {
  const san = x.subjectAltName;
  if (san) {
    const names = san.split(', ').filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase());
    if (names.length) return names;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}
