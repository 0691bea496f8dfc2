import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname } from 'node:path';
import type { IdentityConfig } from '../schema.js';
import { stylesheet } from './layout.js';
import { PASSKEY_SCRIPT } from './passkey.js';

const LOGO_TYPES: Record<string, string> = { '.png': 'image/png', '.svg': 'image/svg+xml', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

/** `/assets/style.css`, `/assets/custom.css` and `/assets/logo`: made once at start, served from memory. */
export function assets(branding: IdentityConfig['branding'], logoFile: string | undefined, customCssFile?: string) {
  const css = stylesheet(branding);
  const custom = customCssFile ? readFileSync(customCssFile) : undefined;
  const logo = logoFile ? { body: readFileSync(logoFile), type: LOGO_TYPES[extname(logoFile).toLowerCase()] ?? 'application/octet-stream' } : undefined;
  const serve = (res: ServerResponse, type: string, body: string | Buffer) => {
    res.setHeader('content-type', type);
    res.setHeader('cache-control', 'public, max-age=3600');
    res.end(body);
  };
  return {
    css: (res: ServerResponse) => serve(res, 'text/css; charset=utf-8', css),
    passkey: (res: ServerResponse) => serve(res, 'text/javascript; charset=utf-8', PASSKEY_SCRIPT),
    custom: custom && ((res: ServerResponse) => serve(res, 'text/css; charset=utf-8', custom)),
    logo: logo && ((res: ServerResponse) => serve(res, logo.type, logo.body)),
  };
}
