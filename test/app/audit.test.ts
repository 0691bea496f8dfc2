import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, loadConfigText } from '../../src/app/config.js';
import { auditLoaded, type LocatedFinding } from '../../src/app/audit/index.js';
import { DEMO_SECRETS, RULES } from '../../src/app/audit/rules.js';
import { ROOT, runCli, writeConfig } from '../helpers/gateway.js';

/**
 * gatehouse audit: each rule is triggered by a config that has the problem, at the line of the
 * problem, and not by the same config fixed; the exit code follows the severity; the quickstart
 * (loopback) has no high finding; every rule is documented.
 */

const API = `apis:
  - name: a
    path: /a
    backend: b
    policies:
      inbound:
        - validate-jwt:
            openid-config: https://login.example.com/.well-known/openid-configuration
            audiences: [api://a]
`;
const BASE = `gateway:
  listen: { host: 127.0.0.1, http: 8080 }
backends:
  b: { url: "http://127.0.0.1:9001" }
${API}`;

const SECRET_32 = Buffer.alloc(32, 7).toString('base64');
const SECRET_16 = Buffer.alloc(16, 7).toString('base64');

function findings(yaml: string): LocatedFinding[] {
  return auditLoaded(loadConfigText(yaml.replace(/ *#!.*$/gm, ''), '/cfg/gatehouse.yaml', {}));
}

/** the 1-based line marked `#!` */
function marked(yaml: string): number {
  const i = yaml.split('\n').findIndex((l) => l.includes('#!'));
  assert.ok(i >= 0, 'the bad config marks the line of the problem with #!');
  return i + 1;
}

interface RuleCase { name: string; bad: string; fixed: string }

const jwt = (extra: string, audiences = '            audiences: [api://a]\n') => `${BASE.split('apis:')[0]}apis:
  - name: a
    path: /a
    backend: b
    policies:
      inbound:
        - validate-jwt:
${audiences}${extra}`;

const CASES: Record<string, RuleCase[]> = {
  'jwt-audience-unchecked': [{
    name: 'no audiences',
    bad: jwt('            openid-config: https://login.example.com/.well-known/openid-configuration\n', '').replace('- validate-jwt:', '- validate-jwt: #!'),
    fixed: BASE,
  }],
  'jwt-issuer-unchecked': [{
    name: 'configured keys, no issuers',
    bad: jwt(`            issuer-signing-keys: [{ secret: "${SECRET_32}" }]\n`).replace('- validate-jwt:', '- validate-jwt: #!'),
    fixed: jwt(`            issuer-signing-keys: [{ secret: "${SECRET_32}" }]\n            issuers: [https://issuer.example.com]\n`),
  }],
  'jwt-unsigned-accepted': [{
    name: 'require-signed-tokens: false',
    bad: jwt('            openid-config: https://login.example.com/.well-known/openid-configuration\n            require-signed-tokens: false #!\n'),
    fixed: BASE,
  }],
  'jwt-expiry-optional': [{
    name: 'require-expiration-time: false',
    bad: jwt('            openid-config: https://login.example.com/.well-known/openid-configuration\n            require-expiration-time: false #!\n'),
    fixed: BASE,
  }],
  'jwt-hmac-secret-short': [
    {
      name: 'a 16-byte secret',
      bad: jwt(`            issuers: [https://issuer.example.com]\n            issuer-signing-keys:\n              - secret: "${SECRET_16}" #!\n`),
      fixed: jwt(`            issuers: [https://issuer.example.com]\n            issuer-signing-keys:\n              - secret: "${SECRET_32}"\n`),
    },
    {
      name: 'a 32-byte secret for HS512',
      bad: jwt(`            issuers: [https://issuer.example.com]\n            issuer-signing-keys:\n              - { alg: HS512, secret: "${SECRET_32}" } #!\n`),
      fixed: jwt(`            issuers: [https://issuer.example.com]\n            issuer-signing-keys:\n              - { alg: HS512, secret: "${Buffer.alloc(64, 7).toString('base64')}" }\n`),
    },
  ],
  'backend-tls-unverified': [{
    name: 'insecure-skip-verify',
    bad: BASE.replace('  b: { url: "http://127.0.0.1:9001" }', '  b:\n    url: "https://127.0.0.1:9001"\n    tls: { insecure-skip-verify: true } #!'),
    fixed: BASE.replace('  b: { url: "http://127.0.0.1:9001" }', '  b:\n    url: "https://127.0.0.1:9001"'),
  }],
  'trusted-proxies-any': [
    { name: 'gateway 0.0.0.0/0', bad: BASE.replace('gateway:\n', 'gateway:\n  trusted-proxies:\n    - 0.0.0.0/0 #!\n'), fixed: BASE.replace('gateway:\n', 'gateway:\n  trusted-proxies: [10.0.0.0/8]\n') },
    { name: 'gateway ::/0', bad: BASE.replace('gateway:\n', 'gateway:\n  trusted-proxies:\n    - 10.0.0.0/8\n    - ::/0 #!\n'), fixed: BASE.replace('gateway:\n', 'gateway:\n  trusted-proxies: [10.0.0.0/8, "fd00::/8"]\n') },
    {
      name: 'identity 0.0.0.0/0',
      bad: `${BASE}identity:\n  issuer: https://id.example.com/auth\n  trusted-proxies:\n    - 0.0.0.0/0 #!\n`,
      fixed: `${BASE}identity:\n  issuer: https://id.example.com/auth\n  trusted-proxies: [127.0.0.1/8]\n`,
    },
  ],
  'demo-secret-public-bind': [{
    name: 'the quickstart secret on 0.0.0.0',
    bad: `${BASE.replace('host: 127.0.0.1', 'host: 0.0.0.0')}identity:\n  issuer: https://id.example.com/auth\n  clients:\n    - client-id: billing-svc\n      client-secret: quickstart-billing-secret #!\n      grant-types: [client_credentials]\n      scopes: [orders.read]\n`,
    fixed: `${BASE}identity:\n  issuer: https://id.example.com/auth\n  clients:\n    - client-id: billing-svc\n      client-secret: quickstart-billing-secret\n      grant-types: [client_credentials]\n      scopes: [orders.read]\n`,
  }, {
    name: 'the quickstart secret with the default listen host (0.0.0.0)',
    bad: `gateway:\n  listen: { http: 8080 }\nidentity:\n  issuer: https://id.example.com/auth\n  clients:\n    - client-id: billing-svc\n      client-secret: quickstart-billing-secret #!\n      grant-types: [client_credentials]\n      scopes: [orders.read]\n`,
    fixed: `gateway:\n  listen: { http: 8080 }\nidentity:\n  issuer: https://id.example.com/auth\n  clients:\n    - client-id: billing-svc\n      client-secret: a-secret-of-my-own-choosing\n      grant-types: [client_credentials]\n      scopes: [orders.read]\n`,
  }],
  'api-unauthenticated': [
    { name: 'an API without policies', bad: `${BASE}  - name: open #!\n    path: /open\n    backend: b\n`, fixed: `${BASE}  - name: open\n    path: /open\n    backend: b\n    public: true\n` },
    {
      name: 'an operation that leaves the API scope out',
      bad: `${BASE}    operations:\n      - id: health #!\n        method: GET\n        path: /health\n        policies:\n          inbound:\n            - base: skip\n`,
      fixed: `${BASE}    operations:\n      - id: health\n        method: GET\n        path: /health\n        policies:\n          inbound:\n            - base\n`,
    },
    {
      name: 'check-header without values is not authentication; with a key it is',
      bad: `${BASE}  - name: keyed #!\n    path: /keyed\n    backend: b\n    policies:\n      inbound:\n        - check-header: { name: X-Api-Key }\n`,
      fixed: `${BASE}  - name: keyed\n    path: /keyed\n    backend: b\n    policies:\n      inbound:\n        - check-header: { name: X-Api-Key, values: ["\${ENV:API_KEY:-k}"] }\n`,
    },
    {
      name: 'a global validate-jwt covers an API without its own',
      bad: `gateway: { listen: { host: 127.0.0.1, http: 8080 } }\nbackends:\n  b: { url: "http://127.0.0.1:9001" }\napis:\n  - name: a #!\n    path: /a\n    backend: b\n`,
      fixed: `gateway: { listen: { host: 127.0.0.1, http: 8080 } }\nbackends:\n  b: { url: "http://127.0.0.1:9001" }\npolicies:\n  inbound:\n    - validate-client-certificate: {}\napis:\n  - name: a\n    path: /a\n    backend: b\n`,
    },
  ],
  'rate-limit-client-key': [{
    name: 'a counter keyed on a request header',
    bad: `${BASE}        - rate-limit-by-key: { calls: 10, renewal-period: 60, counter-key: "{request.header.X-Client}" } #!\n`,
    fixed: `${BASE}        - rate-limit-by-key: { calls: 10, renewal-period: 60, counter-key: "{jwt.sub}" }\n`,
  }],
  'cors-any-origin-credentials': [{
    name: '* with credentials',
    bad: `${BASE}        - cors: { allowed-origins: ["*"], allow-credentials: true } #!\n`,
    fixed: `${BASE}        - cors: { allowed-origins: ["https://app.example.com"], allow-credentials: true }\n`,
  }],
  'issuer-plain-http': [
    { name: 'identity issuer over http', bad: `${BASE}identity:\n  issuer: http://id.example.com/auth #!\n`, fixed: `${BASE}identity:\n  issuer: https://id.example.com/auth\n` },
    {
      name: 'discovery over http',
      bad: jwt('            openid-config: http://login.example.com/.well-known/openid-configuration #!\n            allow-insecure-http: true\n'),
      fixed: jwt('            openid-config: http://127.0.0.1:8080/auth/.well-known/openid-configuration\n'),
    },
  ],
  'password-grant-public-client': [{
    name: 'a public client with the password grant',
    bad: `${BASE}identity:\n  issuer: https://id.example.com/auth\n  clients:\n    - client-id: cli\n      public: true\n      grant-types: [password, refresh_token] #!\n`,
    fixed: `${BASE}identity:\n  issuer: https://id.example.com/auth\n  clients:\n    - client-id: cli\n      public: true\n      grant-types: [authorization_code, refresh_token]\n      redirect-uris: ["http://127.0.0.1:8400/callback"]\n`,
  }],
  'admin-public': [{
    name: 'admin on 0.0.0.0',
    bad: BASE.replace('gateway:\n', 'gateway:\n  admin:\n    listen: { port: 9090, host: 0.0.0.0 } #!\n'),
    fixed: BASE.replace('gateway:\n', 'gateway:\n  admin:\n    listen: { port: 9090, host: 127.0.0.1 }\n'),
  }],
};

describe('gatehouse audit rules', () => {
  it('reads policy-xml documents: a validate-jwt in XML authenticates the API, a document without one does not', () => {
    const jwt = '<policies><inbound><base /><validate-jwt><openid-config url="https://login.example.com/.well-known/openid-configuration" /><audiences><audience>api://a</audience></audiences></validate-jwt></inbound></policies>';
    const none = '<policies><inbound><base /><set-header name="X" exists-action="override"><value>1</value></set-header></inbound></policies>';
    const yaml = (file: string) => `gateway:\n  listen: { host: 127.0.0.1, http: 8080 }\nbackends:\n  b: { url: "http://127.0.0.1:9001" }\napis:\n  - name: a\n    path: /a\n    backend: b\n    policy-xml: ${file}\n`;
    const run = (file: string) => auditLoaded(loadConfigFile(writeConfig(yaml(file), { 'jwt.xml': jwt, 'none.xml': none }), {})).map((f) => f.rule);
    assert.ok(!run('jwt.xml').includes('api-unauthenticated'));
    assert.ok(run('none.xml').includes('api-unauthenticated'));
  });

  it('the base config has no finding', () => {
    assert.deepEqual(findings(BASE), []);
  });

  it('every rule has cases here', () => {
    assert.deepEqual(RULES.map((r) => r.id).sort(), Object.keys(CASES).sort());
  });

  for (const [rule, cases] of Object.entries(CASES)) {
    for (const c of cases) {
      it(`${rule}: ${c.name} is flagged at its line, and not once fixed`, () => {
        const found = findings(c.bad).filter((f) => f.rule === rule);
        assert.ok(found.length > 0, `${rule} not flagged in:\n${c.bad}`);
        assert.ok(found.some((f) => f.line === marked(c.bad)), `${rule} flagged at ${found.map((f) => f.line)} instead of line ${marked(c.bad)}`);
        for (const f of found) {
          assert.equal(f.file, '/cfg/gatehouse.yaml');
          assert.ok(f.column >= 1);
          assert.equal(f.severity, RULES.find((r) => r.id === rule)!.severity);
        }
        assert.deepEqual(findings(c.fixed).filter((f) => f.rule === rule), [], `${rule} still flagged in the fixed config`);
      });
    }
  }

  it('every rule is documented in docs/audit.md with its id, severity, why and fix', () => {
    const doc = readFileSync(join(ROOT, 'docs/audit.md'), 'utf8');
    const sections = doc.split(/^### /m).slice(1);
    const ids = sections.map((s) => s.split('\n')[0]!.replace(/`/g, '').trim());
    assert.deepEqual(ids.sort(), RULES.map((r) => r.id).sort());
    for (const r of RULES) {
      const s = sections.find((x) => x.split('\n')[0]!.includes(r.id))!;
      assert.match(s, new RegExp(`Severity: \\*\\*${r.severity}\\*\\*`), `${r.id}: severity`);
      assert.match(s, /\*\*Why\.\*\*/, `${r.id}: why`);
      assert.match(s, /\*\*Fix\.\*\*/, `${r.id}: fix`);
    }
  });

  it('the demo secrets are every default secret of the quickstart', () => {
    const quickstart = readFileSync(join(ROOT, 'examples/quickstart/gatehouse.yaml'), 'utf8');
    const defaults = [...quickstart.matchAll(/secret:\s*"?\$\{ENV:[A-Z_]+:-([^}]+)\}/g)].map((m) => m[1]!);
    assert.ok(defaults.length > 0);
    for (const d of defaults) assert.ok(DEMO_SECRETS.includes(d), `${d} is a published quickstart secret`);
  });
});

describe('gatehouse audit command', () => {
  const quickstart = join(ROOT, 'examples/quickstart/gatehouse.yaml');

  it('the quickstart (loopback) has no high finding: exit 0; it names the public password client', async () => {
    const r = await runCli(['audit', '--config', quickstart]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /: high /);
    assert.match(r.stdout, /gatehouse\.yaml:\d+:\d+: medium password-grant-public-client: identity\.clients\[0\]\.grant-types/);
    assert.match(r.stdout, /0 high, 1 medium, 0 low/);
  });

  it('the quickstart on a public address with its demo secret: high, exit 1, in text and JSON', async () => {
    const text = readFileSync(quickstart, 'utf8').replace('host: 127.0.0.1, http: 8080', 'host: 0.0.0.0, http: 8080');
    const file = writeConfig(text, { 'orders.openapi.yaml': readFileSync(join(ROOT, 'examples/quickstart/orders.openapi.yaml'), 'utf8') });
    const r = await runCli(['audit', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /: high demo-secret-public-bind: identity\.clients\[2\]\.client-secret:/);
    const j = await runCli(['audit', '--config', file, '--format', 'json']);
    assert.equal(j.code, 1);
    const out = JSON.parse(j.stdout) as { findings: LocatedFinding[]; summary: Record<string, number> };
    const f = out.findings.find((x) => x.rule === 'demo-secret-public-bind')!;
    assert.equal(f.severity, 'high');
    assert.equal(f.line, text.split('\n').findIndex((l) => l.includes('client-secret:')) + 1);
    assert.equal(out.summary.high, 1);
  });

  it('with its own secret set, the public quickstart has no demo-secret finding', async () => {
    const text = readFileSync(quickstart, 'utf8').replace('host: 127.0.0.1, http: 8080', 'host: 0.0.0.0, http: 8080');
    const file = writeConfig(text, { 'orders.openapi.yaml': 'openapi: 3.0.3\n' });
    const r = await runCli(['audit', '--config', file], { env: { BILLING_SECRET: 'a-long-secret-of-my-own-0123456789' } });
    assert.doesNotMatch(r.stdout, /demo-secret-public-bind/);
  });

  it('--fail-on medium makes a medium finding exit 1; no finding exits 0', async () => {
    assert.equal((await runCli(['audit', '--config', quickstart, '--fail-on', 'medium'])).code, 1);
    const clean = await runCli(['audit', '--config', writeConfig(BASE)]);
    assert.equal(clean.code, 0);
    assert.match(clean.stdout, /no findings/);
  });

  it('an invalid config exits 1 with its located errors; a bad option is a usage error (2)', async () => {
    const bad = await runCli(['audit', '--config', writeConfig('gateway:\n  lisen: {}\n')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /gatehouse\.yaml:2:3: gateway\.lisen: unknown key/);
    assert.equal((await runCli(['audit', '--config', quickstart, '--format', 'xml'])).code, 2);
    assert.equal((await runCli(['audit', '--config', quickstart, '--bogus'])).code, 2);
  });
});
