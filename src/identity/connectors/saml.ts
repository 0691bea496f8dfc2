import { randomBytes } from 'node:crypto';
import { SAML, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import type { Logger } from 'pino';
import type { ResolvedConnector } from '../federation/presets.js';
import { identityFromClaims } from './claims.js';
import type { RedirectConnector, SignInResult } from './connector.js';

/**
 * SAML 2.0 service provider through @node-saml/node-saml: an AuthnRequest by the HTTP-Redirect
 * binding (signed when `sp-private-key` is set; not compressed for POST, see the notes),
 * and the IdP's Response by HTTP-POST at the ACS URL (the connector's callback). node-saml checks
 * the signatures (the assertion's always, the response's with `want-response-signed`) against
 * the configured certificates only, the Issuer, the audience, NotBefore / NotOnOrAfter with a
 * bounded skew and InResponseTo = the id of the request this sign-in sent. On top of it, for
 * what node-saml leaves out: exactly one Assertion in the document (signature wrapping needs two),
 * the Response's Destination and every SubjectConfirmationData's Recipient = our ACS URL, and
 * each assertion ID accepted once (`seen`, in the database: a replay is refused across processes).
 */

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
/** the largest SAMLResponse accepted (base64), far above what an IdP sends */
export const SAML_RESPONSE_LIMIT = 256 * 1024;

export interface SamlDeps {
  logger: Logger;
  /** true the first time `key` is seen within `ttl` seconds (one-time assertion IDs) */
  once(key: string, ttlSeconds: number): Promise<boolean>;
  /** the SP entity id when not configured: `<issuer>/federation/<id>/metadata` */
  defaultEntityId: string;
}

/** a cache that knows exactly one request id: the one this sign-in sent (node-saml's InResponseTo check) */
function oneRequest(id: string | undefined): CacheProvider {
  return {
    saveAsync: async (key, value) => ({ value, createdAt: Date.now() }) as never,
    getAsync: async (key) => (id && key === id ? new Date().toISOString() : null),
    removeAsync: async (key) => key,
  };
}

const cert = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

export interface SamlConnector extends RedirectConnector {
  /** the SP metadata XML to give the IdP */
  metadata(callback: string): string;
}

export function samlConnector(c: ResolvedConnector, d: SamlDeps): SamlConnector {
  const s = c.saml!;
  const entityId = s.spEntityId ?? d.defaultEntityId;
  const saml = (callback: string, requestId?: string) => new SAML({
    callbackUrl: callback,
    entryPoint: s.ssoUrl,
    issuer: entityId,
    audience: entityId,
    idpIssuer: s.idpEntityId,
    idpCert: s.idpCertificates.map(cert),
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: s.wantResponseSigned,
    acceptedClockSkewMs: s.clockSkew * 1000,
    maxAssertionAgeMs: 0,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: 600_000,
    cacheProvider: oneRequest(requestId),
    ...(requestId ? { generateUniqueId: () => requestId } : {}),
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    skipRequestCompression: false,
    authnRequestBinding: 'HTTP-Redirect',
    ...(s.privateKey ? { privateKey: s.privateKey, signatureAlgorithm: 'sha256' as const } : {}),
  });

  return {
    id: c.id,
    type: 'saml',
    flow: 'redirect',
    displayName: c.displayName,
    metadata: (callback) => saml(callback).generateServiceProviderMetadata(null, s.certificate ? [cert(s.certificate)] : null),
    async begin({ callback, state }) {
      const requestId = `_${randomBytes(20).toString('hex')}`;
      const url = await saml(callback, requestId).getAuthorizeUrlAsync(state, undefined, {});
      return { handoff: { redirect: url }, state: { callback, requestId } };
    },
    async complete({ params, state }): Promise<SignInResult> {
      const response = params.get('SAMLResponse') ?? '';
      const refused = (why: string): SignInResult => {
        d.logger.warn({ connector: c.id, message: why.slice(0, 300) }, 'upstream answer refused');
        return { ok: false, reason: 'invalid-response' };
      };
      if (!response || response.length > SAML_RESPONSE_LIMIT) return refused('no SAMLResponse, or one too large');
      const callback = state.callback!;
      const shape = checkShape(Buffer.from(response, 'base64').toString('utf8'), callback);
      if (typeof shape === 'string') return refused(shape);
      let profile: Record<string, unknown> | null;
      try {
        ({ profile } = await saml(callback, state.requestId).validatePostResponseAsync({ SAMLResponse: response }) as { profile: Record<string, unknown> | null });
      } catch (err) {
        if (shape.status && !shape.status.endsWith(':Success')) {
          d.logger.info({ connector: c.id, status: shape.status.slice(0, 200) }, 'upstream refused the sign-in');
          return { ok: false, reason: 'upstream-denied' };
        }
        return refused(String((err as Error).message ?? err));
      }
      if (!profile) return refused('no assertion');
      if (!await d.once(`saml:${c.id}:${shape.assertionId}`, 24 * 3600)) return refused(`assertion ${shape.assertionId.slice(0, 80)} was used already (replay)`);
      const { attributes, ...rest } = profile as { attributes?: Record<string, unknown> };
      const identity = identityFromClaims(c, { ...attributes, ...rest }, ['fed']);
      return identity ? { ok: true, identity } : refused('no subject');
    },
  };
}

/**
 * What node-saml leaves unchecked, on the raw document (read without resolving anything): a
 * Response with exactly one Assertion (no EncryptedAssertion, no wrapped copies), its Destination
 * and every Recipient = the ACS URL. Returns the assertion ID and the status, or why not.
 */
function checkShape(xml: string, acs: string): { assertionId: string; status?: string } | string {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return 'a document type declaration';
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: { error: () => { throw new Error('malformed'); }, fatalError: () => { throw new Error('malformed'); } } }).parseFromString(xml, 'text/xml') as unknown as Document;
  } catch { return 'malformed XML'; }
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== SAMLP || root.localName !== 'Response') return 'not a SAML Response';
  const status = root.getElementsByTagNameNS(SAMLP, 'StatusCode')[0]?.getAttribute('Value') ?? undefined;
  const dest = root.getAttribute('Destination');
  if (dest && dest !== acs) return `Destination ${dest.slice(0, 200)} is not our ACS URL`;
  const assertions = root.getElementsByTagNameNS(SAML_NS, 'Assertion');
  if (root.getElementsByTagNameNS(SAML_NS, 'EncryptedAssertion').length) return 'encrypted assertions are not supported';
  if (assertions.length === 0) return status && !status.endsWith(':Success') ? { assertionId: '', status } : 'no assertion';
  if (assertions.length !== 1) return `${assertions.length} assertions (signature wrapping?)`;
  const assertion = assertions[0]!;
  if (assertion.parentNode !== root) return 'the assertion is not a child of the Response (signature wrapping?)';
  const id = assertion.getAttribute('ID');
  if (!id) return 'an assertion without ID';
  const confirmations = root.getElementsByTagNameNS(SAML_NS, 'SubjectConfirmationData');
  if (!confirmations.length) return 'no SubjectConfirmationData';
  for (let i = 0; i < confirmations.length; i++) {
    const r = confirmations[i]!.getAttribute('Recipient');
    if (r !== acs) return `Recipient ${String(r).slice(0, 200)} is not our ACS URL`;
  }
  return { assertionId: id, status };
}
