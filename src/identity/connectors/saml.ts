import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { isAbsolute, resolve } from 'node:path';
import { SAML, ValidateInResponseTo, type CacheProvider, type SamlConfig } from '@node-saml/node-saml';
import { decryptXml } from '@node-saml/node-saml/lib/xml.js';
import { DOMParser } from '@xmldom/xmldom';
import type { Logger } from 'pino';
import type { ResolvedConnector } from '../federation/presets.js';
import { identityFromClaims } from './claims.js';
import type { RedirectConnector, SignInResult } from './connector.js';
import { fileIdp, fixedIdp, urlIdp, type IdpSource } from './saml-idp.js';

/**
 * SAML 2.0 service provider through @node-saml/node-saml: an AuthnRequest by the HTTP-Redirect
 * or HTTP-POST binding (signed when `sp-private-key` is set; not compressed for POST, see the notes),
 * and the IdP's Response by HTTP-POST at the ACS URL (the connector's callback). node-saml checks
 * the signatures (the assertion's always, the response's with `want-response-signed`) against
 * the configured certificates only, the Issuer, the audience, NotBefore / NotOnOrAfter with a
 * bounded skew and InResponseTo = the id of the request this sign-in sent. On top of it, for
 * what node-saml leaves out: exactly one Assertion in the document (signature wrapping needs two),
 * the Response's Destination and every SubjectConfirmationData's Recipient = our ACS URL, and
 * each assertion ID accepted once (`seen`, in the database: a replay is refused across processes).
 * An EncryptedAssertion is decrypted with `sp-encryption-key` (node-saml's decryptionPvk) and
 * then checked as a plain one; `want-assertions-encrypted` refuses plain assertions. The IdP's
 * endpoints and certificates come from the config or its metadata (saml-idp.ts).
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
  /** where relative file paths of the config start */
  configDir: string;
}

/** a PEM given inline, or the file that holds it (relative to the config file) */
function pemOrFile(v: string | undefined, what: string, configDir: string): string | undefined {
  if (v === undefined || v.includes('-----BEGIN')) return v;
  const path = isAbsolute(v) ? v : resolve(configDir, v);
  try {
    const pem = readFileSync(path, 'utf8');
    if (!pem.includes('-----BEGIN')) throw new Error('no PEM block in it');
    return pem;
  } catch (err) {
    throw new Error(`${what}: cannot read a PEM from ${path}: ${(err as Error).message}`, { cause: err });
  }
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
  /** the IdP's endpoints and certificates now (configured, or from its metadata) */
  readonly idp: IdpSource;
  /**
   * An IdP-initiated logout at the SLO URL (`<issuer>/federation/<id>/logout`): a LogoutRequest
   * by HTTP-Redirect (`rawQuery`: the query string as sent, whose signature is checked) or
   * HTTP-POST, signed by the IdP, for this SP. Returns the NameID it ends the sessions of and
   * `answer`, which gives the URL of the LogoutResponse to send the browser to; or why not.
   */
  logoutRequest(m: { params: URLSearchParams; rawQuery?: string; callback: string }): Promise<
    { nameId: string; answer(success: boolean): Promise<string | undefined> } | { refused: string }>;
  /** a LogoutRequest for this NameID / SessionIndex to the IdP's SLO service (undefined without one): its URL and id */
  logoutUrl(user: { nameID: string; nameIDFormat?: string; sessionIndex?: string }, relayState: string, callback: string): Promise<{ url: string; requestId: string } | undefined>;
  /** true when the IdP's LogoutResponse answers `requestId`, comes from the IdP (signature when signed) and says Success */
  logoutResponse(m: { params: URLSearchParams; rawQuery?: string; callback: string; requestId: string }): Promise<boolean>;
}

/** the SP's single logout service: beside the ACS URL */
export const sloOf = (callback: string) => callback.replace(/\/callback$/, '/logout');
/** signature algorithms accepted on a redirect-bound logout message */
const REDIRECT_SIG_ALGS = new Set(['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512']);

type IdpView = { entityId: string; ssoUrl: string; sloUrl?: string; certificates: string[] };

/** node-saml's options for one message: this sign-in's (or logout's) request id, the IdP as it is now */
function samlOptions(s: NonNullable<ResolvedConnector['saml']>, o: { entityId: string; decryptionPvk?: string; callback: string; idp: IdpView; requestId?: string }): SamlConfig {
  return {
    callbackUrl: o.callback,
    logoutCallbackUrl: sloOf(o.callback),
    entryPoint: o.idp.ssoUrl,
    ...(o.idp.sloUrl ? { logoutUrl: o.idp.sloUrl } : {}),
    issuer: o.entityId,
    audience: o.entityId,
    idpIssuer: o.idp.entityId,
    idpCert: o.idp.certificates,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: s.wantResponseSigned,
    acceptedClockSkewMs: s.clockSkew * 1000,
    maxAssertionAgeMs: 0,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: 600_000,
    cacheProvider: oneRequest(o.requestId),
    ...(o.requestId ? { generateUniqueId: () => o.requestId! } : {}),
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    // a POST-bound AuthnRequest is base64 of the XML itself (SAML bindings §3.5.4): IdPs refuse a deflated one
    skipRequestCompression: s.requestBinding === 'post',
    authnRequestBinding: s.requestBinding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect',
    ...(s.privateKey ? { privateKey: s.privateKey, signatureAlgorithm: 'sha256' as const } : {}),
    ...(o.decryptionPvk ? { decryptionPvk: o.decryptionPvk } : {}),
  };
}

export function samlConnector(c: ResolvedConnector, d: SamlDeps): SamlConnector {
  const s = c.saml!;
  const entityId = s.spEntityId ?? d.defaultEntityId;
  const where = `federation ${c.id}`;
  const decryptionPvk = pemOrFile(s.encryptionKey, `${where}: sp-encryption-key`, d.configDir);
  const decryptionCert = pemOrFile(s.encryptionCertificate, `${where}: sp-encryption-certificate`, d.configDir);
  const metadataFile = s.metadataFile && (isAbsolute(s.metadataFile) ? s.metadataFile : resolve(d.configDir, s.metadataFile));
  const idp: IdpSource = s.metadataUrl ? urlIdp(s.metadataUrl, s.idpEntityId, s.metadataRefresh, d.logger, c.id)
    : metadataFile ? fileIdp(metadataFile, s.idpEntityId)
      : fixedIdp({ entityId: s.idpEntityId!, ssoUrl: s.ssoUrl!, sloUrl: s.sloUrl, certificates: s.idpCertificates!.map(cert) });
  const samlFor = async (callback: string, requestId?: string) => {
    const i = await idp.current();
    return samlWith(callback, { entityId: i.entityId, ssoUrl: i.ssoUrl, sloUrl: i.sloUrl, certificates: i.certificates.map(cert) }, requestId);
  };
  const samlWith = (callback: string, i: IdpView, requestId?: string) => new SAML(samlOptions(s, { entityId, decryptionPvk, callback, idp: i, requestId }));

  return {
    id: c.id,
    type: 'saml',
    flow: 'redirect',
    displayName: c.displayName,
    idp,
    // the SP's own metadata needs nothing of the IdP's
    metadata: (callback) => samlWith(callback, { entityId: '', ssoUrl: 'https://idp.invalid/', certificates: ['unused'] })
      .generateServiceProviderMetadata(decryptionCert ? cert(decryptionCert) : null, s.certificate ? [cert(s.certificate)] : null),
    logoutRequest: (m) => logoutRequest(m, { id: c.id, logger: d.logger, once: d.once, samlFor, idp }),
    async logoutUrl(user, relayState, callback) {
      if (!(await idp.current()).sloUrl) return undefined;
      const requestId = `_${randomBytes(20).toString('hex')}`;
      const url = await (await samlFor(callback, requestId)).getLogoutUrlAsync({ issuer: entityId, nameIDFormat: user.nameIDFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', ...user } as never, relayState, {});
      return { url, requestId };
    },
    logoutResponse: (m) => logoutResponse(m, { id: c.id, logger: d.logger, samlFor }),
    async begin({ callback, state }) {
      const requestId = `_${randomBytes(20).toString('hex')}`;
      const saml = await samlFor(callback, requestId);
      if (s.requestBinding === 'post') {
        const fields = Object.fromEntries(Object.entries(await saml.getAuthorizeMessageAsync(state, undefined, {})).map(([k, v]) => [k, String(v)]));
        return { handoff: { post: { action: (await idp.current()).ssoUrl, fields } }, state: { callback, requestId } };
      }
      const url = await saml.getAuthorizeUrlAsync(state, undefined, {});
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
      const shape = await checkShape(Buffer.from(response, 'base64').toString('utf8'), callback, { key: decryptionPvk, required: s.wantEncrypted });
      if (typeof shape === 'string') return refused(shape);
      let profile: Record<string, unknown> | null;
      try {
        ({ profile } = await (await samlFor(callback, state.requestId)).validatePostResponseAsync({ SAMLResponse: response }) as { profile: Record<string, unknown> | null });
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

/** the IdP's LogoutResponse to our LogoutRequest `requestId` (see SamlConnector.logoutResponse) */
async function logoutResponse({ params, rawQuery, callback, requestId }: Parameters<SamlConnector['logoutResponse']>[0], x: { id: string; logger: Logger; samlFor(callback: string, requestId?: string): Promise<SAML> }): Promise<boolean> {
  const response = params.get('SAMLResponse') ?? '';
  if (!response || response.length > SAML_RESPONSE_LIMIT) return false;
  try {
    const raw = Buffer.from(response, 'base64');
    const xml = (rawQuery !== undefined ? inflateRawSync(raw, { maxOutputLength: SAML_RESPONSE_LIMIT }) : raw).toString('utf8');
    if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return false;
    const saml = await x.samlFor(callback, requestId);
    const r = rawQuery !== undefined
      ? await saml.validateRedirectAsync(Object.fromEntries(params) as never, rawQuery)
      : await saml.validatePostResponseAsync({ SAMLResponse: response });
    return r.loggedOut === true;
  } catch (err) {
    x.logger.warn({ connector: x.id, message: String((err as Error).message ?? err).slice(0, 300) }, 'upstream logout response refused');
    return false;
  }
}

/** an IdP-initiated LogoutRequest, verified (see SamlConnector.logoutRequest) */
async function logoutRequest({ params, rawQuery, callback }: Parameters<SamlConnector['logoutRequest']>[0], x: { id: string; logger: Logger; once: SamlDeps['once']; samlFor(callback: string): Promise<SAML>; idp: IdpSource }): ReturnType<SamlConnector['logoutRequest']> {
  const refused = (why: string) => {
    x.logger.warn({ connector: x.id, message: why.slice(0, 300) }, 'upstream logout request refused');
    return { refused: why };
  };
  const request = params.get('SAMLRequest') ?? '';
  if (!request || request.length > SAML_RESPONSE_LIMIT) return refused('no SAMLRequest, or one too large');
  const keys = [...params.keys()];
  if (new Set(keys).size !== keys.length) return refused('a repeated parameter');
  let xml: string;
  try {
    const raw = Buffer.from(request, 'base64');
    xml = (rawQuery !== undefined ? inflateRawSync(raw, { maxOutputLength: SAML_RESPONSE_LIMIT }) : raw).toString('utf8');
  } catch { return refused('the SAMLRequest does not inflate (or inflates too large)'); }
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return refused('a document type declaration');
  const root = parse(xml)?.documentElement;
  if (!root || root.namespaceURI !== SAMLP || root.localName !== 'LogoutRequest') return refused('not a LogoutRequest');
  const dest = root.getAttribute('Destination');
  if (dest && dest !== sloOf(callback)) return refused(`Destination ${dest.slice(0, 200)} is not our SLO URL`);
  const saml = await x.samlFor(callback);
  let profile: Record<string, unknown> | null;
  try {
    if (rawQuery !== undefined) {
      // node-saml accepts a redirect-bound message without a signature: it must have one
      if (!params.get('Signature') || !REDIRECT_SIG_ALGS.has(params.get('SigAlg') ?? '')) return refused('an unsigned LogoutRequest (or another signature algorithm than RSA-SHA256/512)');
      ({ profile } = await saml.validateRedirectAsync(Object.fromEntries(params) as never, rawQuery) as { profile: Record<string, unknown> | null });
    } else {
      ({ profile } = await saml.validatePostRequestAsync({ SAMLRequest: request }) as { profile: Record<string, unknown> | null });
    }
  } catch (err) { return refused(String((err as Error).message ?? err)); }
  const nameId = profile?.nameID;
  if (typeof nameId !== 'string' || !nameId) return refused('no NameID');
  if (!await x.once(`saml-logout:${x.id}:${String(profile!.ID)}`, 24 * 3600)) return refused('a replayed LogoutRequest');
  const relayState = params.get('RelayState') ?? undefined;
  return {
    nameId,
    answer: async (success) => ((await x.idp.current()).sloUrl ? saml.getLogoutResponseUrlAsync(profile as never, relayState ?? '', {}, success) : undefined),
  };
}

const parse = (xml: string): Document | undefined => {
  try {
    return new DOMParser({ errorHandler: { error: () => { throw new Error('malformed'); }, fatalError: () => { throw new Error('malformed'); } } }).parseFromString(xml, 'text/xml') as unknown as Document;
  } catch { return undefined; }
};

/**
 * What node-saml leaves unchecked, on the raw document (read without resolving anything): a
 * Response with exactly one Assertion or EncryptedAssertion (no wrapped copies), its Destination
 * and every Recipient = the ACS URL (in the decrypted assertion when encrypted). Returns the
 * assertion ID and the status, or why not.
 */
async function checkShape(xml: string, acs: string, enc: { key?: string; required: boolean }): Promise<{ assertionId: string; status?: string } | string> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return 'a document type declaration';
  const doc = parse(xml);
  if (!doc) return 'malformed XML';
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== SAMLP || root.localName !== 'Response') return 'not a SAML Response';
  const status = root.getElementsByTagNameNS(SAMLP, 'StatusCode')[0]?.getAttribute('Value') ?? undefined;
  const dest = root.getAttribute('Destination');
  if (dest && dest !== acs) return `Destination ${dest.slice(0, 200)} is not our ACS URL`;
  const plain = root.getElementsByTagNameNS(SAML_NS, 'Assertion');
  const encrypted = root.getElementsByTagNameNS(SAML_NS, 'EncryptedAssertion');
  const n = plain.length + encrypted.length;
  if (n === 0) return status && !status.endsWith(':Success') ? { assertionId: '', status } : 'no assertion';
  if (n !== 1) return `${n} assertions (signature wrapping?)`;
  if (plain.length && enc.required) return 'an unencrypted assertion (want-assertions-encrypted)';
  let assertion = (plain[0] ?? encrypted[0])!;
  if (assertion.parentNode !== root) return 'the assertion is not a child of the Response (signature wrapping?)';
  if (encrypted.length) {
    if (!enc.key) return 'an encrypted assertion, and no sp-encryption-key to decrypt it';
    let clear: string;
    try { clear = await decryptXml(assertion.toString(), enc.key); } catch (err) { return `the assertion does not decrypt: ${(err as Error).message}`; }
    if (/<!DOCTYPE|<!ENTITY/i.test(clear)) return 'a document type declaration in the encrypted assertion';
    const inner = parse(clear)?.documentElement;
    if (!inner || inner.namespaceURI !== SAML_NS || inner.localName !== 'Assertion') return 'the encrypted data is not one Assertion';
    if (inner.getElementsByTagNameNS(SAML_NS, 'Assertion').length) return 'an assertion inside the encrypted assertion (signature wrapping?)';
    assertion = inner;
  }
  const id = assertion.getAttribute('ID');
  if (!id) return 'an assertion without ID';
  const confirmations = (encrypted.length ? assertion : root).getElementsByTagNameNS(SAML_NS, 'SubjectConfirmationData');
  if (!confirmations.length) return 'no SubjectConfirmationData';
  for (let i = 0; i < confirmations.length; i++) {
    const r = confirmations[i]!.getAttribute('Recipient');
    if (r !== acs) return `Recipient ${String(r).slice(0, 200)} is not our ACS URL`;
  }
  return { assertionId: id, status };
}
