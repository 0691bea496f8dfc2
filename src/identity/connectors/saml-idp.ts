import { readFileSync } from 'node:fs';
import { DOMParser } from '@xmldom/xmldom';
import type { Logger } from 'pino';
import { fetchText } from '../../net/fetch.js';

/**
 * What the SP needs to know of its SAML IdP: the entity id, the single sign-on and single logout
 * services (HTTP-Redirect binding) and the signing certificates. Either configured, or read from
 * the IdP's metadata — a file, or a URL fetched at start and again every `refresh` seconds. A
 * refresh that fails (unreachable, too large, too slow, not metadata, another entity) keeps the
 * last good metadata, so an IdP outage never stops sign-ins with the certificates already known;
 * a refresh that succeeds replaces the certificates, so after a rollover assertions signed with
 * the retired key are refused.
 */

export interface IdpInfo {
  entityId: string;
  ssoUrl: string;
  sloUrl?: string;
  certificates: string[];
}

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
/** the largest metadata document read, and how long a fetch may take */
export const METADATA_LIMIT = 1024 * 1024;
const METADATA_TIMEOUT_MS = 10_000;

const text = (n: Element | undefined) => (n?.textContent ?? '').replace(/\s+/g, '');

/** the IdP in a metadata document: the EntityDescriptor named `entityId` (or the only one); throws why not */
export function parseIdpMetadata(xml: string, entityId?: string): IdpInfo {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Error('a document type declaration in the metadata');
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: { error: () => { throw new Error('malformed'); }, fatalError: () => { throw new Error('malformed'); } } }).parseFromString(xml, 'text/xml') as unknown as Document;
  } catch { throw new Error('the metadata is not well-formed XML'); }
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== MD || !['EntityDescriptor', 'EntitiesDescriptor'].includes(root.localName)) throw new Error('not SAML metadata (no md:EntityDescriptor)');
  const all = root.localName === 'EntityDescriptor' ? [root] : Array.from(root.getElementsByTagNameNS(MD, 'EntityDescriptor'));
  const idps = all.filter((e) => e.getElementsByTagNameNS(MD, 'IDPSSODescriptor').length > 0);
  const entity = entityId ? idps.find((e) => e.getAttribute('entityID') === entityId) : idps.length === 1 ? idps[0] : undefined;
  if (!entity) throw new Error(entityId ? `no IdP ${entityId.slice(0, 200)} in the metadata` : `${idps.length} IdPs in the metadata: set idp-entity-id`);
  const validUntil = entity.getAttribute('validUntil') ?? root.getAttribute('validUntil');
  if (validUntil && !(Date.parse(validUntil) > Date.now())) throw new Error(`the metadata expired (validUntil ${validUntil.slice(0, 40)})`);
  const sso = entity.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0]!;
  const service = (name: string) => Array.from(sso.getElementsByTagNameNS(MD, name)).find((s) => s.getAttribute('Binding') === REDIRECT)?.getAttribute('Location') ?? undefined;
  const ssoUrl = service('SingleSignOnService');
  if (!ssoUrl) throw new Error('the IdP has no SingleSignOnService with the HTTP-Redirect binding');
  const certificates = Array.from(sso.getElementsByTagNameNS(MD, 'KeyDescriptor'))
    .filter((k) => (k.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((k) => Array.from(k.getElementsByTagNameNS(DS, 'X509Certificate')).map(text))
    .filter((c) => /^[A-Za-z0-9+/=]{100,}$/.test(c));
  if (!certificates.length) throw new Error('the IdP metadata has no signing certificate');
  for (const u of [ssoUrl, service('SingleLogoutService')]) {
    if (u && !/^https:\/\/|^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(u)) throw new Error(`${u.slice(0, 200)}: an IdP service must be https (http on loopback only)`);
  }
  return { entityId: entity.getAttribute('entityID') ?? '', ssoUrl, sloUrl: service('SingleLogoutService'), certificates: [...new Set(certificates)] };
}

export interface IdpSource {
  /** the IdP now (waits for the first fetch of a metadata URL; throws when there was never a good one) */
  current(): Promise<IdpInfo>;
  /** stop refreshing */
  close(): void;
}

/** the IdP as configured, without metadata */
export function fixedIdp(info: IdpInfo): IdpSource {
  return { current: async () => info, close: () => {} };
}

/** the IdP from a metadata file, read once at start (a bad file is a startup error) */
export function fileIdp(path: string, entityId: string | undefined): IdpSource {
  const info = parseIdpMetadata(readFileSync(path, 'utf8'), entityId);
  return fixedIdp(info);
}

/** the IdP from a metadata URL: fetched now, then every `refreshSeconds`; the last good kept when a refresh fails */
export function urlIdp(url: string, entityId: string | undefined, refreshSeconds: number, logger: Logger, connector: string): IdpSource {
  let good: IdpInfo | undefined;
  let pending: Promise<IdpInfo> | undefined;
  const refresh = (): Promise<IdpInfo> => {
    pending ??= (async () => {
      try {
        const { text: xml } = await fetchText(url, { timeoutMs: METADATA_TIMEOUT_MS, maxBytes: METADATA_LIMIT, allowInsecureHttp: false, maxRedirects: 3 }, 'application/samlmetadata+xml, application/xml, text/xml');
        const info = parseIdpMetadata(xml, entityId);
        const changed = !good || good.certificates.join() !== info.certificates.join() || good.ssoUrl !== info.ssoUrl;
        good = info;
        logger.info({ connector, certificates: info.certificates.length, changed }, 'SAML IdP metadata refreshed');
        return info;
      } catch (err) {
        logger.warn({ connector, err: String((err as Error).message ?? err).slice(0, 300), keeping: good ? 'the last good metadata' : 'none' }, 'SAML IdP metadata refresh failed');
        if (good) return good;
        throw new Error(`the IdP metadata of ${connector} could not be fetched`, { cause: err });
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  refresh().catch(() => {});
  const timer = setInterval(() => { refresh().catch(() => {}); }, refreshSeconds * 1000);
  timer.unref();
  return {
    current: async () => good ?? refresh(),
    close: () => clearInterval(timer),
  };
}
