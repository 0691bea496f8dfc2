import { ConfigError } from '../../config/errors.js';
import { cookieValues } from '../../net/cookies.js';
import { countHeader } from '../../net/headers.js';
import type { Exchange } from '../exchange.js';
import type { TokenFailure } from './token.js';

/**
 * Where validate-jwt finds the token: one header (`Authorization: Bearer <token>` by default, or
 * `DPoP <token>` for a DPoP-bound one), or one query parameter, or one cookie. Ambiguity is
 * refused, never guessed at: the header twice, the parameter or cookie twice, or a token in more
 * than one place.
 */

/** The place options of validate-jwt (at most one of header, query parameter or cookie). */
export interface TokenPlaceConfig {
  'header-name'?: string | undefined;
  'query-parameter-name'?: string | undefined;
  'cookie-name'?: string | undefined;
  /** the scheme before the token in the header ('' for a bare token) */
  'require-scheme': string;
  'max-token-size': number;
}

export interface TokenPlace {
  /** the header the token comes from (lower-case), or undefined */
  readonly header: string | undefined;
  readonly query: string | undefined;
  readonly cookie: string | undefined;
  readonly maxSize: number;
  /** the detail of a malformed header: `The authorization header must be "Bearer <token>".` */
  readonly shape: string;
  readonly tooLarge: TokenFailure;
  /** the token of the request, or why there is none */
  extract(ex: Exchange): string | TokenFailure;
}

export const MISSING: TokenFailure = { code: 'token-missing', detail: 'A bearer token is required.' };
const SEVERAL_PLACES: TokenFailure = { code: 'token-ambiguous', detail: 'The request carries a token in more than one place.' };

/** Compile the place of the token; a ConfigError when more than one place is given. */
export function tokenPlace(config: TokenPlaceConfig): TokenPlace {
  const places = [config['header-name'], config['query-parameter-name'], config['cookie-name']].filter((x) => x !== undefined);
  if (places.length > 1) throw new ConfigError('give at most one of header-name, query-parameter-name or cookie-name');
  const query = config['query-parameter-name'];
  const cookie = config['cookie-name'];
  const header = query === undefined && cookie === undefined ? (config['header-name'] ?? 'Authorization').toLowerCase() : undefined;
  const maxSize = config['max-token-size'];
  const tooLarge: TokenFailure = { code: 'token-too-large', detail: `The token is larger than ${maxSize} bytes.` };
  if (header !== undefined) {
    const fromHeader = headerExtractor(header, config['require-scheme'], maxSize, tooLarge);
    return { header, query, cookie, maxSize, shape: fromHeader.shape, tooLarge, extract: fromHeader.extract };
  }
  const extract = (ex: Exchange): string | TokenFailure => {
    let found: string | undefined;
    if (query !== undefined) {
      const all = ex.query === '' ? [] : ex.queryParams.getAll(query);
      if (all.length > 1) return { code: 'token-ambiguous', detail: `The request has more than one ${query} query parameter.` };
      found = all[0];
    } else {
      const values = cookieValues(ex.req.headers.cookie, cookie!);
      if (values.length > 1) return { code: 'token-ambiguous', detail: `The request has more than one ${cookie} cookie.` };
      found = values[0];
    }
    if (found === undefined || found === '') return MISSING;
    const authorization = ex.req.headers.authorization;
    if (authorization !== undefined && /^bearer\s/i.test(authorization)) return SEVERAL_PLACES;
    if (found.length > maxSize) return tooLarge;
    return found;
  };
  return { header, query, cookie, maxSize, shape: `The ${header} header must be "<token>".`, tooLarge, extract };
}

/** `<scheme> <token>` from one header: the scheme case-insensitively, exactly one space, one token. */
function headerExtractor(header: string, scheme: string, maxSize: number, tooLarge: TokenFailure) {
  const schemeLower = scheme.toLowerCase();
  // a DPoP-bound token comes as "DPoP <token>" (RFC 9449 §7.1); the sender check decides
  const dpopScheme = header === 'authorization' && schemeLower === 'bearer';
  const shape = `The ${header} header must be "${scheme === '' ? '<token>' : `${scheme} <token>`}".`;
  const malformed: TokenFailure = { code: 'token-malformed', detail: shape };
  const extract = (ex: Exchange): string | TokenFailure => {
    const req = ex.req;
    if (countHeader(req.rawHeaders, header) > 1) return { code: 'token-ambiguous', detail: `The request has more than one ${header} header.` };
    const raw = req.headers[header];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === '') return MISSING;
    if (value.length > maxSize + scheme.length + 1) return tooLarge;
    let token: string;
    if (scheme === '') token = value;
    else {
      const sp = value.indexOf(' ');
      const head = sp === -1 ? value : value.slice(0, sp);
      if (head.toLowerCase() !== schemeLower && !(dpopScheme && head.toLowerCase() === 'dpop')) {
        return value.slice(0, scheme.length).toLowerCase() === schemeLower && /^[\s]/.test(value.slice(scheme.length)) ? malformed : MISSING;
      }
      token = value.slice(sp + 1);
    }
    // (whitespace inside the token is refused after the cache lookup: a cached token has none)
    if (token === '') return malformed;
    // RFC 6750 §2.3 query token next to the header one (also when its name is percent-encoded)
    const q = ex.query;
    if (q !== '' && (q.indexOf('%') !== -1 || q.indexOf('access_token') !== -1) && ex.queryParams.has('access_token')) return SEVERAL_PLACES;
    return token;
  };
  return { shape, extract };
}
