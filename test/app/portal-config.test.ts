import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { loadConfigText } from '../../src/app/config.js';
import { ConfigInvalid, formatIssue } from '../../src/config/errors.js';
import { createPortal } from '../../src/app/portal/index.js';
import { createConsole } from '../../src/app/console/index.js';

/** The portal and the console refuse a configuration they cannot run with, located. */

const silent = pino({ level: 'silent' });
const base = `
gateway: { listen: { http: 8080 } }
products: [{ id: starter, name: Starter, apis: [orders] }]
apis: [{ name: orders, path: /orders }]
subscriptions: { database: "sqlite::memory:" }
`;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigInvalid, String(err));
    return err.issues.map(formatIssue).join('\n');
  }
  assert.fail('accepted');
}

describe('portal and console configuration', () => {
  it('a portal without an issuer, or on a path an API uses, is refused at its line', () => {
    const noIssuer = loadConfigText(`${base}portal: { client-id: portal, audience: api://portal }\n`, '/cfg/g.yaml', {});
    assert.match(refusal(() => createPortal(noIssuer, silent)), /g\.yaml:6.*portal\.issuer/s);
    const clash = loadConfigText(`${base}portal: { client-id: portal, audience: api://portal, issuer: "https://idp.example/auth", path: /orders }\n`, '/cfg/g.yaml', {});
    assert.match(refusal(() => createPortal(clash, silent)), /API "orders"/);
  });

  it('a portal path with dot-segments or a trailing slash does not load', () => {
    for (const path of ['/a/../b', '/portal/', 'portal']) {
      assert.throws(() => loadConfigText(`${base}portal: { client-id: p, audience: a, issuer: "https://idp.example/auth", path: "${path}" }\n`, '/cfg/g.yaml', {}), ConfigInvalid, path);
    }
  });

  it('a console without management.auth is refused: it would sign in nobody and guard nothing', () => {
    const loaded = loadConfigText(`${base}console: { client-id: console, issuer: "https://idp.example/auth" }\n`, '/cfg/g.yaml', {});
    assert.match(refusal(() => createConsole(loaded)), /management\.auth/);
  });

  it('off means off', () => {
    const loaded = loadConfigText(`${base}portal: { enabled: false, client-id: p, audience: a }\nconsole: { enabled: false, client-id: c }\n`, '/cfg/g.yaml', {});
    assert.equal(createPortal(loaded, silent), undefined);
    assert.equal(createConsole(loaded), undefined);
  });
});
