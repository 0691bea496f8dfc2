import { resolve } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { definePolicy, type PolicyContext } from '../policy.js';
import type { Reply } from '../reply.js';
import { problem } from '../problems.js';
import { ConfigError } from '../../config/errors.js';
import { clientCertificate, type ClientCertificate } from '../mtls/peer.js';
import { TIME_ERRORS, verifyChain } from '../mtls/chain.js';
import { isRevoked, parseCrl, type RevocationList } from '../mtls/revocation.js';
import { compileIdentities, matchesAny, type IdentityMatcher } from '../mtls/identity.js';
import { compileForwarding } from '../mtls/forward.js';
import { WatchedFile } from '../mtls/watched-file.js';
import type { ClientTrust } from '../mtls/trust.js';
import { HeaderName } from './kit/fields.js';

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
  'forward-header-name': HeaderName.default('X-Forwarded-Client-Cert').describe('header of the forwarded details; incoming copies are always removed'),
  'forward-include-pem': z.boolean().default(false).describe('add the URL-encoded PEM (`Cert=`) to the forwarded details'),
  'forward-headers': z.strictObject({
    thumbprint: HeaderName.optional().describe('header for the SHA-256 thumbprint (hex)'),
    'thumbprint-sha1': HeaderName.optional().describe('header for the SHA-1 thumbprint (hex)'),
    subject: HeaderName.optional().describe('header for the subject (RFC 4514)'),
    'issuer-subject': HeaderName.optional().describe('header for the issuer (RFC 4514)'),
    'serial-number': HeaderName.optional().describe('header for the serial number (hex)'),
    'dns-names': HeaderName.optional().describe('header for the DNS names (comma-separated)'),
    pem: HeaderName.optional().describe('header for the URL-encoded PEM'),
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
 * The policy's own CRL files (`crl`), loaded with the config and reloaded when they change; one
 * per file for the whole config. A file that cannot be used fails the load.
 */
function policyCrls(files: readonly string[], ctx: PolicyContext): Array<WatchedFile<RevocationList>> {
  return files.map((f, i) => {
    const path = resolve(ctx.configDir, f);
    return ctx.shared(`client-cert:crl:${path}`, () => {
      let file: WatchedFile<RevocationList>;
      try {
        file = new WatchedFile(path, parseCrl, ctx.logger, 'CRL');
      } catch (err) {
        throw new ConfigError(`cannot use CRL ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`, ['crl', i]);
      }
      ctx.onClose(() => file.close());
      return file;
    });
  });
}

/**
 * Revocation: the policy's CRLs, then the listener's. A CRL file that never loaded refuses every
 * certificate as revoked (fail closed); a CRL past its nextUpdate still counts, with a warning.
 */
function revocationCheck(own: ReadonlyArray<WatchedFile<RevocationList>>, ctx: PolicyContext) {
  const staleWarned = new WeakSet<object>();
  let noCrlWarned = false;
  const add = (lists: RevocationList[], f: WatchedFile<RevocationList>, now: number): boolean => {
    const l = f.value;
    if (l === undefined) return false;
    if (l.nextUpdate < now && !staleWarned.has(l)) {
      staleWarned.add(l);
      ctx.logger.warn({ file: f.path, nextUpdate: new Date(l.nextUpdate).toISOString() }, 'CRL is past its nextUpdate; publish a fresh one');
    }
    lists.push(l);
    return true;
  };
  return (c: ClientCertificate, trust: ClientTrust | undefined, now: number): boolean => {
    const listener = trust?.crls ?? NO_FILES;
    if (own.length === 0 && listener.length === 0) {
      if (!noCrlWarned) { noCrlWarned = true; ctx.logger.warn({ policy: ctx.location }, 'validate-revocation is on but no CRL is configured (crl on the policy or the listener); revocation is not checked'); }
      return false;
    }
    const lists: RevocationList[] = [];
    for (const f of own) if (!add(lists, f, now)) return true;
    for (const f of listener) if (!add(lists, f, now)) return true;
    return isRevoked(c, lists);
  };
}

const NO_FILES: ReadonlyArray<WatchedFile<RevocationList>> = [];
const NO_ANCHORS: readonly X509Certificate[] = [];

/**
 * The checks, in order: present, not-before, not-after, trust, revocation, identities. The first
 * that fails names the refusal.
 */
function compileCheck(config: Config, identities: readonly IdentityMatcher[], own: ReadonlyArray<WatchedFile<RevocationList>>, ctx: PolicyContext) {
  const dates = { notBefore: config['validate-not-before'], notAfter: config['validate-not-after'] };
  const trustChain = config['validate-trust'];
  const revoked = config['validate-revocation'] ? revocationCheck(own, ctx) : undefined;
  return (c: ClientCertificate | undefined, trust: ClientTrust | undefined): Code | undefined => {
    if (c === undefined) return 'missing';
    const now = Date.now();
    if (dates.notBefore && now < c.notBefore) return 'not-yet-valid';
    if (dates.notAfter && now > c.notAfter) return 'expired';
    if (trustChain && !c.authorized) {
      // OpenSSL reports only its last error: behind a date error the chain may be untrusted too,
      // so a date error is only forgiven after checking the chain ourselves
      if (c.authorizationError === undefined || !TIME_ERRORS.has(c.authorizationError)) return 'untrusted';
      const r = verifyChain(c, trust?.anchors() ?? NO_ANCHORS, now, dates);
      if (r !== 'ok') return r;
    }
    if (revoked !== undefined && revoked(c, trust, now)) return 'revoked';
    if (identities.length > 0 && !matchesAny(identities, c, trust?.anchors() ?? NO_ANCHORS)) return 'identity-mismatch';
    return undefined;
  };
}

/**
 * Client-certificate validation (mTLS) with API-management semantics. The listener asks for the
 * certificate during the handshake (`client-certificate: request|require`, `client-ca`) and loads
 * its trust material (client-ca, crl) when it starts; this policy decides per API. Each check is
 * made on its own (Node's single `authorizationError` cannot tell them apart).
 */
export const validateClientCertificate = definePolicy({
  name: 'validate-client-certificate',
  sections: ['inbound'],
  capabilities: { phase: 'pipeline' },
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
    const check = compileCheck(config, compileIdentities(config.identities), policyCrls(config.crl, ctx), ctx);
    const forwarding = compileForwarding({
      xfcc: config['forward-client-certificate'],
      xfccName: config['forward-header-name'],
      includePem: config['forward-include-pem'],
      headers: config['forward-headers'] ?? {},
    });
    const refusals = {} as Record<Code, Reply>;
    for (const code of Object.keys(DETAIL) as Code[]) refusals[code] = problem(`client-certificate-${code}`, DETAIL[code]);
    const ignoreError = config['ignore-error'];

    return (ex) => {
      const up = ex.upstreamHeaders;
      // every header this policy may set is removed from the incoming request first
      forwarding.strip(up);
      const c = clientCertificate(ex);
      const code = check(c, ex.listener.clientTrust);
      if (code !== undefined) {
        if (!ignoreError) return refusals[code];
        ex.setVar('client-certificate-error', `client-certificate-${code}`);
        return undefined;
      }
      forwarding.forward(up, c!);
      return undefined;
    };
  },
});
