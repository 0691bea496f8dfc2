import { resolve } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { definePolicy, type PolicyContext } from '../policy.js';
import { type Reply } from '../reply.js';
import { problem } from '../problems.js';
import type { Exchange } from '../exchange.js';
import { ConfigError } from '../../config/errors.js';
import {
  TIME_ERRORS, WatchedFile, clientCertificate, compileIdentity, formatXfcc, isRevoked,
  parseCaBundle, parseCrl, verifyChain, headerSafe,
  type ClientCertificate, type IdentityMatcher, type RevocationList,
} from '../mtls/client-cert.js';

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name');

const Identity = z.strictObject({
  thumbprint: z.string().optional().describe('thumbprint of the certificate: SHA-1 (40 hex digits) or SHA-256 (64 hex digits) of its DER; colons and case ignored'),
  'serial-number': z.string().optional().describe('serial number in hex; colons, case and leading zeros ignored'),
  'common-name': z.string().optional().describe('a CN of the subject (exact)'),
  subject: z.string().optional().describe('subject distinguished name, e.g. "CN=orders-client, O=Acme"; attribute order and case ignored'),
  'dns-name': z.string().optional().describe('a DNS name of the subject alternative names (case-insensitive)'),
  'issuer-subject': z.string().optional().describe('distinguished name of the issuer'),
  'issuer-thumbprint': z.string().optional().describe('SHA-1 or SHA-256 thumbprint of the issuing CA certificate (the one whose signature is on the certificate)'),
});

export const ValidateClientCertificateConfig = z.strictObject({
  'validate-revocation': z.boolean().default(true).describe('refuse certificates listed in a CRL (`crl` here or on the listener)'),
  'validate-trust': z.boolean().default(true).describe("refuse certificates that do not chain to the listener's client-ca"),
  'validate-not-before': z.boolean().default(true).describe('refuse certificates that are not valid yet'),
  'validate-not-after': z.boolean().default(true).describe('refuse expired certificates'),
  'ignore-error': z.boolean().default(false).describe('let a failed validation continue (the reason code goes to the variable `client-certificate-error`); nothing is forwarded then'),
  identities: z.array(Identity).default([]).describe('when given, the certificate must match every attribute of at least one identity'),
  crl: z.array(z.string()).default([]).describe('PEM or DER CRL files, reloaded when they change (in addition to the listener crl)'),
  'forward-client-certificate': z.boolean().default(false).describe('send the certificate details to the backend in `forward-header-name` (X-Forwarded-Client-Cert format)'),
  'forward-header-name': headerName.default('X-Forwarded-Client-Cert').describe('header of the forwarded details; incoming copies are always removed'),
  'forward-include-pem': z.boolean().default(false).describe('add the URL-encoded PEM (`Cert=`) to the forwarded details'),
  'forward-headers': z.strictObject({
    thumbprint: headerName.optional().describe('header for the SHA-256 thumbprint (hex)'),
    'thumbprint-sha1': headerName.optional().describe('header for the SHA-1 thumbprint (hex)'),
    subject: headerName.optional().describe('header for the subject (RFC 4514)'),
    'issuer-subject': headerName.optional().describe('header for the issuer (RFC 4514)'),
    'serial-number': headerName.optional().describe('header for the serial number (hex)'),
    'dns-names': headerName.optional().describe('header for the DNS names (comma-separated)'),
    pem: headerName.optional().describe('header for the URL-encoded PEM'),
  }).optional().describe('individual headers for the details, for backends that do not read X-Forwarded-Client-Cert; incoming copies are always removed'),
});
type Config = z.output<typeof ValidateClientCertificateConfig>;

type Code = 'missing' | 'untrusted' | 'expired' | 'not-yet-valid' | 'revoked' | 'identity-mismatch';

const DETAIL: Record<Code, string> = {
  missing: 'A client certificate is required.',
  untrusted: 'The client certificate is not issued by a trusted authority.',
  expired: 'The client certificate has expired.',
  'not-yet-valid': 'The client certificate is not valid yet.',
  revoked: 'The client certificate has been revoked.',
  'identity-mismatch': 'The client certificate is not allowed for this API.',
};

/**
 * Client-certificate validation (mTLS) with API-management semantics. The listener asks for the
 * certificate during the handshake (`client-certificate: request|require`, `client-ca`); this
 * policy decides per API. Each check is made on its own (Node's single `authorizationError`
 * cannot tell them apart), in this order: present, not-before, not-after, trust, revocation,
 * identities.
 */
export const validateClientCertificate = definePolicy({
  name: 'validate-client-certificate',
  sections: ['inbound'],
  description:
    'Validates the client certificate (mTLS) presented on an HTTPS listener with client-certificate: request or require: ' +
    'trust in the listener client-ca, validity dates, revocation by CRL files (reloaded on change) and identities ' +
    '(thumbprint, serial number, subject, DNS name, issuer). Refusals are 403 with client-certificate-missing, ' +
    '-untrusted, -expired, -not-yet-valid, -revoked or -identity-mismatch. Optionally forwards the certificate ' +
    'details to the backend in X-Forwarded-Client-Cert; incoming copies of the forwarded headers are always removed.',
  example: `validate-client-certificate:
  crl: [certs/clients.crl.pem]
  identities:
    - { issuer-subject: "CN=Partner CA, O=Acme", dns-name: orders-client.partner.example }
    - { thumbprint: "F79BD766D6AE739C7FFC4511FB9BB31322F5EE1B5956560C00B326B4A19C827D" }   # SHA-256 (64 hex) or SHA-1 (40 hex)
  forward-client-certificate: true`,
  schema: ValidateClientCertificateConfig,
  create(config: Config, ctx: PolicyContext) {
    const identities: IdentityMatcher[] = config.identities.map((id, i) => {
      try {
        return compileIdentity(id);
      } catch (err) {
        const attr = (err as { attr?: string }).attr;
        throw new ConfigError((err as Error).message, attr ? ['identities', i, attr] : ['identities', i]);
      }
    });
    const crlFile = (path: string, at?: ReadonlyArray<string | number>): WatchedFile<RevocationList> =>
      ctx.shared(`client-cert:crl:${path}`, () => {
        let f: WatchedFile<RevocationList>;
        try {
          f = new WatchedFile(path, parseCrl, ctx.logger, 'CRL');
        } catch (err) {
          throw new ConfigError(`cannot use CRL ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`, at ?? []);
        }
        ctx.onClose(() => f.close());
        return f;
      });
    const caFile = (path: string): WatchedFile<X509Certificate[]> =>
      ctx.shared(`client-cert:ca:${path}`, () => {
        const f = new WatchedFile(path, parseCaBundle, ctx.logger, 'client CA');
        ctx.onClose(() => f.close());
        return f;
      });
    const own = config.crl.map((f, i) => crlFile(resolve(ctx.configDir, f), ['crl', i]));

    // listener CRLs and CAs are known per request (a policy can serve several listeners)
    const listenerCrls = new WeakMap<object, ReadonlyArray<WatchedFile<RevocationList> | undefined>>();
    const crlsOf = (ex: Exchange): ReadonlyArray<WatchedFile<RevocationList> | undefined> => {
      const paths = ex.listener.crl;
      if (paths.length === 0) return own;
      let files = listenerCrls.get(paths);
      if (files === undefined) {
        const fromListener: Array<WatchedFile<RevocationList> | undefined> = [];
        for (const p of paths) {
          try { fromListener.push(crlFile(p)); } catch (err) {
            ctx.logger.error({ file: p, err: (err as Error).message }, 'listener CRL cannot be used; certificates are refused as revoked');
            fromListener.push(undefined);
          }
        }
        files = [...own, ...fromListener];
        listenerCrls.set(paths, files);
      }
      return files;
    };
    const anchorsCache = new WeakMap<object, ReadonlyArray<WatchedFile<X509Certificate[]>>>();
    const anchorsOf = (ex: Exchange): readonly X509Certificate[] => {
      // the listener's client-ca (absolute paths), when the server passes them
      const paths = (ex.listener as { clientCa?: readonly string[] }).clientCa;
      if (!paths || paths.length === 0) return [];
      let files = anchorsCache.get(paths);
      if (files === undefined) {
        files = paths.flatMap((p) => {
          try { return [caFile(p)]; } catch (err) {
            ctx.logger.error({ file: p, err: (err as Error).message }, 'listener client-ca cannot be read');
            return [];
          }
        });
        anchorsCache.set(paths, files);
      }
      return files.length === 1 ? files[0]!.value : files.flatMap((f) => f.value);
    };

    const refusals = {} as Record<Code, Reply>;
    for (const code of Object.keys(DETAIL) as Code[]) refusals[code] = problem(`client-certificate-${code}`, DETAIL[code]);

    const dates = { notBefore: config['validate-not-before'], notAfter: config['validate-not-after'] };
    const staleWarned = new WeakSet<object>();
    let noCrlWarned = false;

    const check = (ex: Exchange, c: ClientCertificate | undefined): Code | undefined => {
      if (c === undefined) return 'missing';
      const now = Date.now();
      if (dates.notBefore && now < c.notBefore) return 'not-yet-valid';
      if (dates.notAfter && now > c.notAfter) return 'expired';
      let anchors: readonly X509Certificate[] | undefined;
      if (config['validate-trust'] && !c.authorized) {
        // OpenSSL reports only its last error: behind a date error the chain may be untrusted too,
        // so a date error is only forgiven after checking the chain ourselves
        if (c.authorizationError === undefined || !TIME_ERRORS.has(c.authorizationError)) return 'untrusted';
        const r = verifyChain(c, (anchors = anchorsOf(ex)), now, dates);
        if (r !== 'ok') return r;
      }
      if (config['validate-revocation']) {
        const files = crlsOf(ex);
        if (files.length === 0) {
          if (!noCrlWarned) { noCrlWarned = true; ctx.logger.warn({ policy: ctx.location }, 'validate-revocation is on but no CRL is configured (crl on the policy or the listener); revocation is not checked'); }
        } else {
          const lists: RevocationList[] = [];
          for (const f of files) {
            if (f === undefined) return 'revoked';
            const l = f.value;
            if (l.nextUpdate < now && !staleWarned.has(l)) {
              staleWarned.add(l);
              ctx.logger.warn({ file: f.path, nextUpdate: new Date(l.nextUpdate).toISOString() }, 'CRL is past its nextUpdate; publish a fresh one');
            }
            lists.push(l);
          }
          if (isRevoked(c, lists)) return 'revoked';
        }
      }
      if (identities.length > 0) {
        anchors ??= anchorsOf(ex);
        let ok = false;
        for (const m of identities) if (m(c, anchors)) { ok = true; break; }
        if (!ok) return 'identity-mismatch';
      }
      return undefined;
    };

    // forwarding
    const fwd = config['forward-client-certificate'];
    const xfccName = config['forward-header-name'].toLowerCase();
    const includePem = config['forward-include-pem'];
    const fh = config['forward-headers'] ?? {};
    const individual: Array<[string, (c: ClientCertificate) => string]> = [];
    if (fh.thumbprint) individual.push([fh.thumbprint.toLowerCase(), (c) => c.sha256.toLowerCase()]);
    if (fh['thumbprint-sha1']) individual.push([fh['thumbprint-sha1'].toLowerCase(), (c) => c.sha1.toLowerCase()]);
    if (fh.subject) individual.push([fh.subject.toLowerCase(), (c) => c.subject]);
    if (fh['issuer-subject']) individual.push([fh['issuer-subject'].toLowerCase(), (c) => c.issuer]);
    if (fh['serial-number']) individual.push([fh['serial-number'].toLowerCase(), (c) => c.serial]);
    if (fh['dns-names']) individual.push([fh['dns-names'].toLowerCase(), (c) => c.dnsNames.map(headerSafe).join(',')]);
    if (fh.pem) individual.push([fh.pem.toLowerCase(), (c) => encodeURIComponent(c.pem)]);
    // every header this policy may set is removed from the incoming request first
    const strip = [xfccName, ...individual.map(([n]) => n)];

    return (ex) => {
      const up = ex.upstreamHeaders;
      for (let i = 0; i < strip.length; i++) delete up[strip[i]!];
      const c = clientCertificate(ex);
      const code = check(ex, c);
      if (code !== undefined) {
        if (!config['ignore-error']) return refusals[code];
        ex.setVar('client-certificate-error', `client-certificate-${code}`);
        return undefined;
      }
      if (fwd) up[xfccName] = includePem ? (c!.xfccPem ??= formatXfcc(c!, true)) : (c!.xfcc ??= formatXfcc(c!, false));
      for (let i = 0; i < individual.length; i++) up[individual[i]![0]] = individual[i]![1](c!);
      return undefined;
    };
  },
});
