import { readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The files of a browser app (web/<app>/ and web/shared/ of the package), read once into memory
 * and served under `<prefix>/`: only the files that exist at start, so no request path ever
 * reaches the file system. Pages carry a strict CSP: scripts and styles from the app's own
 * origin only (no inline script, no CDN), connections to the origin and to the identity provider.
 */

const WEB = fileURLToPath(new URL('../../../../web/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

export interface StaticApp {
  /** answer `rest` (the path under the prefix: '/' or '/app.js' or '/shared/dom.js'); false when there is no such file */
  serve(res: ServerResponse, rest: string): boolean;
}

function readDir(dir: string, into: Map<string, Buffer>, under: string): void {
  for (const name of readdirSync(dir)) {
    if (TYPES[extname(name)] !== undefined) into.set(`${under}/${name}`, readFileSync(join(dir, name)));
  }
}

/** The app `name` (web/<name>/ plus web/shared/), with `extra` generated files (brand.css, config.json). */
export function staticApp(name: string, csp: string, extra: Record<string, { type: string; body: string }>): StaticApp {
  const files = new Map<string, Buffer>();
  readDir(join(WEB, name), files, '');
  readDir(join(WEB, 'shared'), files, '/shared');
  return {
    serve(res, rest) {
      const path = rest === '/' ? '/index.html' : rest;
      const generated = extra[path];
      const body = generated?.body ?? files.get(path);
      if (body === undefined) return false;
      const type = generated?.type ?? TYPES[extname(path)]!;
      res.writeHead(200, {
        'content-type': type,
        // the page always fresh (a new version's scripts), the rest for a minute
        'cache-control': path === '/index.html' || generated ? 'no-store' : 'public, max-age=60',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        ...(type.startsWith('text/html') ? { 'content-security-policy': csp, 'x-frame-options': 'DENY' } : {}),
      }).end(body);
      return true;
    },
  };
}

/** The page CSP of an app that talks to its own origin and to `issuer`'s origin. */
export function appCsp(issuer: string): string {
  const idp = new URL(issuer).origin;
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${idp}; form-action 'self' ${idp}; base-uri 'none'; frame-ancestors 'none'`;
}

/** The custom properties of the branding, as a stylesheet. */
export function brandCss(b: { 'primary-colour': string; 'background-colour': string }): string {
  return `:root { --primary: ${b['primary-colour']}; --background: ${b['background-colour']}; }\n`;
}
