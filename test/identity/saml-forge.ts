import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { signXml } from '@node-saml/node-saml/lib/xml.js';

/**
 * SAML documents forged in the test, signed with a key whose certificate the SP trusts (the
 * connector's `idp-certificates`): what a real IdP would send, and then what an attacker makes of
 * it (signature wrapping, other audiences, times). Elements are written without whitespace so the
 * attacks can cut and paste them as strings.
 */

export const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SIGNATURE = /<Signature xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#">[\s\S]*?<\/SignatureValue>(<KeyInfo>[\s\S]*?<\/KeyInfo>)?<\/Signature>/;

export const newId = () => `_${randomBytes(16).toString('hex')}`;
const iso = (offsetSeconds: number) => new Date(Date.now() + offsetSeconds * 1000).toISOString();

export interface AssertionFields {
  id?: string;
  issuer: string;
  nameId: string;
  audience: string;
  recipient: string;
  inResponseTo: string;
  /** seconds from now (default -60 and +300) */
  notBefore?: number;
  notOnOrAfter?: number;
  mail?: string;
}

export function assertion(f: AssertionFields): { xml: string; id: string } {
  const id = f.id ?? newId();
  const nb = iso(f.notBefore ?? -60);
  const noa = iso(f.notOnOrAfter ?? 300);
  const xml = `<saml:Assertion xmlns:saml="${ASSERTION}" ID="${id}" Version="2.0" IssueInstant="${iso(0)}"><saml:Issuer>${f.issuer}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${f.nameId}</saml:NameID>`
    + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${noa}" Recipient="${f.recipient}" InResponseTo="${f.inResponseTo}"/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${nb}" NotOnOrAfter="${noa}"><saml:AudienceRestriction><saml:Audience>${f.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${iso(0)}" SessionIndex="${newId()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + `<saml:AttributeStatement><saml:Attribute Name="mail"><saml:AttributeValue>${f.mail ?? `${f.nameId}@example.com`}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`
    + '</saml:Assertion>';
  return { xml, id };
}

export function response(f: { issuer: string; destination: string; inResponseTo: string; inner: string; id?: string }): { xml: string; id: string } {
  const id = f.id ?? newId();
  return {
    id,
    xml: `<samlp:Response xmlns:samlp="${PROTOCOL}" xmlns:saml="${ASSERTION}" ID="${id}" Version="2.0" IssueInstant="${iso(0)}" Destination="${f.destination}" InResponseTo="${f.inResponseTo}">`
      + `<saml:Issuer>${f.issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${f.inner}</samlp:Response>`,
  };
}

/** sign the element with this ID (an Assertion or the Response): the Signature right after its Issuer */
export function sign(xml: string, id: string, keyPem: string): string {
  const el = `//*[@ID='${id}']`;
  return signXml(xml, el, { reference: `${el}/*[local-name(.)='Issuer']`, action: 'after' }, { privateKey: keyPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
}

/** the first Signature element in `xml` (as text) */
export function signatureOf(xml: string): string {
  const m = SIGNATURE.exec(xml);
  if (!m) throw new Error('no signature');
  return m[0];
}

/** the request id and RelayState of the redirect an SP sends to the IdP */
export function authnRequestOf(location: string): { requestId: string; relayState: string } {
  const u = new URL(location);
  const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return { requestId: /\sID="([^"]+)"/.exec(xml)![1]!, relayState: u.searchParams.get('RelayState')! };
}
