import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './helpers.js';

/**
 * SimpleSAMLphp from Debian's packages (scripts/ci/install-simplesamlphp.sh) as a real SAML 2.0
 * IdP: served by `php -S` on 127.0.0.2 (another site than Gatehouse on 127.0.0.1, so the POST
 * back to the ACS is cross-site, as in production), configured entirely from a temporary folder
 * (SIMPLESAMLPHP_CONFIG_DIR): a fresh IdP key and certificate, an `exampleauth:UserPass` source
 * with test users, and the service providers it answers. The test keeps the IdP's private key, so
 * it can also sign what a real IdP would never send (expired or misdirected assertions).
 */

export const SSP_WWW = '/usr/share/simplesamlphp/www';
export const sspAvailable = () => existsSync(SSP_WWW) && (() => { try { execFileSync('php', ['-v'], { stdio: 'ignore' }); return true; } catch { return false; } })();

export const NAMEID_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

export interface SimpleSamlIdp {
  base: string;
  entityId: string;
  ssoUrl: string;
  /** its metadata (SSO and SLO services, signing certificate) */
  metadataUrl: string;
  certPem: string;
  keyPem: string;
  /** a certificate rollover: the IdP signs with a fresh key from now on and its metadata names the new certificate */
  rollover(): { certPem: string; keyPem: string };
  stop(): Promise<void>;
}

/** a service provider the IdP answers: its ACS URL, and the certificate to encrypt assertions to */
export type RemoteSp = string | { acs: string; encryptTo?: string };

const php = (v: unknown): string => {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(php).join(', ')}]`;
  return `[${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${php(/^\d+$/.test(k) ? Number(k) : k)} => ${php(x)}`).join(', ')}]`;
};

/** start SimpleSAMLphp with these service providers (entity id → ACS URL) and users */
export async function startSimpleSaml(sps: Record<string, RemoteSp>, users: Record<string, { password: string; attributes: Record<string, string[]> }>): Promise<SimpleSamlIdp> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssp-'));
  for (const d of ['config', 'metadata', 'cert', 'tmp', 'log', 'data']) mkdirSync(join(dir, d));
  const newKey = () => execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'cert/idp.key'), '-out', join(dir, 'cert/idp.crt'), '-days', '2', '-subj', '/CN=simplesamlphp-test-idp'], { stdio: 'ignore' });
  newKey();
  const port = await freePort();
  const base = `http://127.0.0.2:${port}/`;
  const entityId = `${base}saml2/idp/metadata.php`;
  const config = {
    baseurlpath: base, certdir: join(dir, 'cert/'), loggingdir: join(dir, 'log/'), datadir: join(dir, 'data/'), tempdir: join(dir, 'tmp/'),
    secretsalt: 'test-salt-' + port, 'auth.adminpassword': 'not-used-' + port, technicalcontact_email: 'nobody@example.com', timezone: 'UTC',
    'enable.saml20-idp': true, 'store.type': 'phpsession', 'logging.handler': 'file', 'logging.logfile': 'ssp.log', 'logging.level': 4,
    'metadata.sources': [{ type: 'flatfile', directory: join(dir, 'metadata') }],
    'module.enable': { exampleauth: true, core: true, saml: true, admin: true },
    'session.cookie.secure': false, 'session.phpsession.cookiename': 'SSPSESSID', 'language.default': 'en', 'theme.use': 'default',
    'session.cookie.samesite': 'Lax',
    // where a test's IdP-initiated logout returns to (the downstream RP's redirect URI)
    'trusted.url.domains': ['127.0.0.1:9', '127.0.0.1'],
  };
  writeFileSync(join(dir, 'config/config.php'), `<?php\n$config = ${php(config)};\n`);
  const source: Record<string, unknown> = { 0: 'exampleauth:UserPass' };
  for (const [name, u] of Object.entries(users)) source[`${name}:${u.password}`] = u.attributes;
  writeFileSync(join(dir, 'config/authsources.php'), `<?php\n$config = ${php({ 'example-userpass': source })};\n`);
  const idp = {
    host: '__DEFAULT__', privatekey: 'idp.key', certificate: 'idp.crt', auth: 'example-userpass',
    'saml20.sign.response': true, 'saml20.sign.assertion': true, 'sign.logout': true, NameIDFormat: NAMEID_UNSPECIFIED,
    authproc: { 10: { class: 'saml:AttributeNameID', attribute: 'uid', Format: NAMEID_UNSPECIFIED } },
  };
  writeFileSync(join(dir, 'metadata/saml20-idp-hosted.php'), `<?php\n$metadata[${php(entityId)}] = ${php(idp)};\n`);
  writeFileSync(join(dir, 'metadata/saml20-sp-remote.php'), `<?php\n${Object.entries(sps).map(([id, sp]) => `$metadata[${php(id)}] = ${php(remoteSp(sp))};`).join('\n')}\n`);
  const proc: ChildProcess = spawn('php', ['-S', `127.0.0.2:${port}`, '-t', SSP_WWW], { env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: join(dir, 'config') }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c) => { stderr = (stderr + c).slice(-4000); });
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}saml2/idp/metadata.php`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 100 || proc.exitCode !== null) { proc.kill(); throw new Error(`SimpleSAMLphp did not start: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base, entityId, ssoUrl: `${base}saml2/idp/SSOService.php`, metadataUrl: `${base}saml2/idp/metadata.php`,
    certPem: readFileSync(join(dir, 'cert/idp.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'cert/idp.key'), 'utf8'),
    rollover() {
      newKey();
      return { certPem: readFileSync(join(dir, 'cert/idp.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'cert/idp.key'), 'utf8') };
    },
    async stop() {
      if (proc.exitCode === null) { proc.kill(); await new Promise((r) => proc.once('exit', r)); }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function remoteSp(sp: RemoteSp): Record<string, unknown> {
  const { acs, encryptTo } = typeof sp === 'string' ? { acs: sp, encryptTo: undefined } : sp;
  return {
    AssertionConsumerService: acs, SingleLogoutService: acs.replace(/\/callback$/, '/logout'), NameIDFormat: NAMEID_UNSPECIFIED,
    ...(encryptTo ? { 'assertion.encryption': true, certData: encryptTo.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '') } : {}),
  };
}

/** a fresh RSA key and self-signed certificate in `dir` (PEM files): `{ key, cert }` paths */
export function keyPair(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { key, cert };
}
