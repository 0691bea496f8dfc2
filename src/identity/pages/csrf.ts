import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseCookies } from '../../net/cookies.js';
import { clientIp } from '../client-ip.js';
import { FormError } from './kit.js';
import { COOKIE_PREFIX } from './layout.js';

const CSRF_COOKIE = `${COOKIE_PREFIX}csrf`;

/** CSRF protection of every hosted form: a token bound to a SameSite=Strict cookie. */
export interface Csrf {
  /** the CSRF token for this browser; sets the cookie when it has none */
  token(req: IncomingMessage, res: ServerResponse): string;
  /** refuses (FormError 403) a form without the token of this browser's cookie */
  check(req: IncomingMessage, form: URLSearchParams): void;
}

export function createCsrf(secret: Buffer, o: { base: string; secureCookie: boolean; logger: Logger }): Csrf {
  const tokenFor = (seed: string) => createHmac('sha256', secret).update(seed).digest('base64url');
  /** the seed set on a response that is still being built (the browser does not have it yet) */
  const fresh = new WeakMap<IncomingMessage, string>();
  return {
    token(req, res) {
      let seed = fresh.get(req) ?? parseCookies(req.headers.cookie)[CSRF_COOKIE];
      if (!seed || !/^[\w-]{20,64}$/.test(seed)) {
        seed = randomBytes(24).toString('base64url');
        res.appendHeader('set-cookie', `${CSRF_COOKIE}=${seed}; Path=${o.base || '/'}; HttpOnly; SameSite=Strict${o.secureCookie ? '; Secure' : ''}`);
        fresh.set(req, seed);
      }
      return tokenFor(seed);
    },
    check(req, form) {
      const seed = parseCookies(req.headers.cookie)[CSRF_COOKIE];
      const sent = form.get('csrf') ?? '';
      const ok = !!seed && sent.length > 0 && (() => {
        const a = Buffer.from(tokenFor(seed)), b = Buffer.from(sent);
        return a.length === b.length && timingSafeEqual(a, b);
      })();
      if (!ok) {
        o.logger.warn({ audit: 'csrf.refused', path: req.url, ip: clientIp(req) }, 'form refused: missing or wrong CSRF token');
        throw new FormError(403, 'form.csrf');
      }
    },
  };
}
