import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, runCli, writeConfig } from '../helpers/gateway.js';

/**
 * The `gatehouse` command line: version, help, usage errors (exit 2), `validate` with a summary
 * (exit 0) or every located error (exit 1), and `start` refusing an invalid config.
 */

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** 1-based line number of the first line of `text` containing `marker`. */
function lineOf(text: string, marker: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `marker ${marker} not in the config`);
  return i + 1;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Assert that `stderr` has an error `file:line:column: path: ...` for this path at this line. */
function assertLocated(stderr: string, file: string, line: number, path: string, message?: RegExp): void {
  const re = new RegExp(`^${escape(file)}:${line}:(\\d+): ${escape(path)}: (.*)$`, 'gm');
  const found = [...stderr.matchAll(re)];
  assert.ok(found.length > 0, `expected an error at ${file}:${line} for ${path}; got:\n${stderr}`);
  for (const m of found) assert.ok(Number(m[1]) >= 1, 'the column is 1-based');
  if (message) assert.ok(found.some((m) => message.test(m[2]!)), `no error at ${file}:${line} for ${path} says ${message}; got:\n${stderr}`);
}

describe('gatehouse CLI basics', () => {
  it('--version prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`\\b${escape(version)}\\b`));
  });

  it('--help prints the commands and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /start/);
    assert.match(r.stdout, /validate/);
    assert.match(r.stdout, /--config/);
  });

  it('start --help prints the usage and exits 0 without starting anything', async () => {
    const r = await runCli(['start', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--config/);
  });

  it('an unknown command is a usage error: exit 2 with a message on stderr', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /frobnicate/);
  });

  it('an unknown flag is a usage error: exit 2', async () => {
    const file = writeConfig('gateway: { listen: { http: 0 } }\n');
    for (const args of [['validate', '--config', file, '--frob'], ['start', '--config', file, '--nope'], ['--frob']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.stderr}`);
      assert.ok(r.stderr.length > 0);
    }
  });

  it('--config without a file is a usage error: exit 2', async () => {
    const r = await runCli(['validate', '--config']);
    assert.equal(r.code, 2);
  });
});

describe('gatehouse validate', () => {
  const VALID = `
gateway:
  listen: { http: 0 }
  admin: { listen: 0 }
backends:
  orders: { url: "http://127.0.0.1:9001/api", timeout: 5s }
policies:
  inbound:
    - set-header: { name: X-Global, value: "1" }
apis:
  - name: orders
    path: /orders
    backend: orders
    policies:
      inbound:
        - base
        - set-header: { name: X-Api, value: orders }
      outbound:
        - set-header: { name: Server, exists-action: delete }
    operations:
      - { id: get-order, method: GET, path: "/{id}" }
      - { id: create-order, method: POST, path: / }
  - name: health
    path: /health
    policies:
      inbound:
        - base: skip
        - return-response: { status: 200, body: ok }
`;

  it('prints a summary of APIs, operations and policies per scope and exits 0', async () => {
    const file = writeConfig(VALID);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /orders/);
    assert.match(r.stdout, /\/orders/);
    assert.match(r.stdout, /health/);
    assert.match(r.stdout, /set-header/);
    assert.match(r.stdout, /return-response/);
    assert.match(r.stdout, /operation/i);
    assert.ok(r.stdout.split('\n').length < 60, 'the summary fits on one screen');
    assert.equal(r.stderr, '');
  });

  it('reads ./gatehouse.yaml when --config is not given', async () => {
    const file = writeConfig(VALID);
    const r = await runCli(['validate'], { cwd: dirname(file) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /orders/);
  });

  it('resolves relative file paths against the config file folder, not the working directory', async () => {
    const file = writeConfig(`
apis:
  - name: pets
    path: /pets
    openapi: ./pets.yaml
    policies:
      inbound:
        - mock-response: { status: 200 }
`, { 'pets.yaml': `openapi: 3.0.3
info: { title: pets, version: '1' }
paths:
  /{id}:
    get:
      operationId: get-pet
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
` });
    const r = await runCli(['validate', '--config', file], { cwd: '/' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pets/);
  });

  it('exits 1 with a clear message when the config file does not exist', async () => {
    const r = await runCli(['validate', '--config', '/nonexistent/gatehouse.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not found/);
  });

  it('substitutes ${ENV:NAME} from the environment', async () => {
    const file = writeConfig(`
backends:
  b: { url: "\${ENV:GH_TEST_BACKEND_URL}" }
apis:
  - { name: a, path: /a, backend: b }
`);
    const r = await runCli(['validate', '--config', file], { env: { GH_TEST_BACKEND_URL: 'http://127.0.0.1:9999' } });
    assert.equal(r.code, 0, r.stderr);
  });

  it('reports every schema error at once as file:line:column with its path, and exits 1', async () => {
    const yaml = `gateway:
  listen: { http: 0 }
  colour: red                                   # unknown key
backends:
  b:
    url: http://127.0.0.1:9001
    timeout: 5 parsecs                          # bad duration
apis:
  - name: a
    path: /a
    backend: b
    policies:
      inbound:
        - base
        - set-header: { name: "bad header", value: x }   # invalid header name
        - set-headr: { name: X-A, value: x }             # unknown policy
      outbound:
        - cors: { allowed-origins: ["*"] }               # not allowed in outbound
`;
    const file = writeConfig(yaml);
    const r2 = await runCli(['validate', '--config', file]);
    assert.equal(r2.code, 1, r2.stdout);
    assertLocated(r2.stderr, file, lineOf(yaml, 'colour'), 'gateway.colour', /unknown key/i);
    assertLocated(r2.stderr, file, lineOf(yaml, 'parsecs'), 'backends.b.timeout', /duration/i);
    assertLocated(r2.stderr, file, lineOf(yaml, 'bad header'), 'apis[0].policies.inbound[1].set-header.name', /header name/i);
    assertLocated(r2.stderr, file, lineOf(yaml, 'set-headr'), 'apis[0].policies.inbound[2].set-headr', /unknown policy/i);
    assertLocated(r2.stderr, file, lineOf(yaml, '- cors'), 'apis[0].policies.outbound[0].cors', /outbound/);
    assert.equal(r2.stdout, '', 'nothing on stdout when the config is invalid');
  });

  it('reports a missing ${ENV:NAME} variable at its position', async () => {
    const yaml = `backends:
  b: { url: "http://127.0.0.1:9001" }
  secret:
    url: "\${ENV:GH_TEST_SURELY_NOT_SET}"
apis:
  - { name: a, path: /a, backend: b }
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file, lineOf(yaml, 'GH_TEST_SURELY_NOT_SET'), 'backends.secret.url', /GH_TEST_SURELY_NOT_SET/);
  });

  it('reports a missing ${ENV:NAME} variable together with the other errors of the file', async () => {
    const yaml = `gateway:
  colour: red
backends:
  b: { url: "\${ENV:GH_TEST_SURELY_NOT_SET}", timeout: 5 parsecs }
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file, lineOf(yaml, 'GH_TEST_SURELY_NOT_SET'), 'backends.b.url', /GH_TEST_SURELY_NOT_SET/);
    assertLocated(r.stderr, file, lineOf(yaml, 'colour'), 'gateway.colour', /unknown key/i);
    assertLocated(r.stderr, file, lineOf(yaml, 'parsecs'), 'backends.b.timeout', /duration/i);
  });

  it('reports a missing backend with its location', async () => {
    const yaml = `backends:
  b: { url: "http://127.0.0.1:9001" }
apis:
  - name: a
    path: /a
    backend: nope
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file, lineOf(yaml, 'nope'), 'apis[0].backend', /nope/);
  });

  it('reports set-backend-service naming a backend that does not exist', async () => {
    const yaml = `backends:
  b: { url: "http://127.0.0.1:9001" }
apis:
  - name: a
    path: /a
    backend: b
    policies:
      inbound:
        - set-backend-service: { backend-id: ghost }
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file, lineOf(yaml, 'ghost'), 'apis[0].policies.inbound[0].set-backend-service.backend-id', /ghost/);
  });

  it('reports a section that omits base while the outer scope has policies there', async () => {
    const yaml = `backends:
  b: { url: "http://127.0.0.1:9001" }
policies:
  inbound:
    - set-header: { name: X-Global, value: g }
apis:
  - name: a
    path: /a
    backend: b
    policies:
      inbound:
        - set-header: { name: X-Own, value: o }
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    const m = new RegExp(`^${escape(file)}:(\\d+):\\d+: apis\\[0\\]\\.policies\\.inbound: (.*)$`, 'm').exec(r.stderr);
    assert.ok(m, r.stderr);
    const line = Number(m[1]);
    assert.ok(line >= lineOf(yaml, '      inbound:') && line <= lineOf(yaml, 'X-Own'), `line ${line} points into the API's inbound section`);
    assert.match(m[2]!, /base/);
    assert.match(m[2]!, /base: skip/, 'the message says how to opt out');
  });

  it('reports several compile-stage errors at once', async () => {
    const yaml = `backends:
  b: { url: "http://127.0.0.1:9001" }
apis:
  - name: a
    path: /a
    backend: missing-one
  - name: c
    path: /c
    backend: missing-two
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file, lineOf(yaml, 'missing-one'), 'apis[0].backend');
    assertLocated(r.stderr, file, lineOf(yaml, 'missing-two'), 'apis[1].backend');
  });

  it('reports YAML syntax errors with their position', async () => {
    const yaml = `apis:
  - name: a
    path: /a
   backend: [unclosed
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${escape(file)}:\\d+:\\d+`, 'm'));
  });

  it('refuses a duplicate key (a second value would silently win)', async () => {
    const yaml = `backends:
  b: { url: "http://127.0.0.1:9001" }
apis:
  - name: a
    path: /a
    path: /b
    backend: b
`;
    const file = writeConfig(yaml);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${escape(file)}:\\d+:\\d+`, 'm'));
  });
});

describe('gatehouse start with an invalid config', () => {
  it('exits 1 with the located errors on stderr and never listens', async () => {
    const yaml = `gateway:
  listen: { http: 0 }
backends:
  b: { url: "http://127.0.0.1:9001" }
apis:
  - name: a
    path: /a
    backend: b
    policies:
      inbound:
        - no-such-policy: {}
`;
    const file = writeConfig(yaml);
    const r = await runCli(['start', '--config', file]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file, lineOf(yaml, 'no-such-policy'), 'apis[0].policies.inbound[0].no-such-policy', /unknown policy/i);
    assert.doesNotMatch(r.stdout + r.stderr, /"msg":"listening"/);
  });

  it('exits 1 on a compile-stage error (missing backend) too', async () => {
    const yaml = `gateway:
  listen: { http: 0 }
apis:
  - name: a
    path: /a
    backend: nope
`;
    const file = writeConfig(yaml);
    const r = await runCli(['start', '--config', file]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file, lineOf(yaml, 'nope'), 'apis[0].backend');
    assert.doesNotMatch(r.stdout + r.stderr, /"msg":"listening"/);
  });
});

describe('HTTPS listener files', () => {
  const yaml = `gateway:
  listen:
    https:
      port: 0
      certificates: [{ cert: certs/missing.pem, key: not-a-key.pem }]
      client-certificate: request
      client-ca: [certs/missing-ca.pem]
      crl: [nowhere.crl]
`;
  it('a missing certificate, client CA or CRL and an unusable key are located errors in validate and start, exit 1', async () => {
    const file = writeConfig(yaml, { 'not-a-key.pem': 'nothing here' });
    for (const cmd of ['validate', 'start']) {
      const r = await runCli([cmd, '--config', file]);
      assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
      assertLocated(r.stderr, file, lineOf(yaml, 'certs/missing-ca.pem'), 'gateway.listen.https.client-ca[0]');
      assertLocated(r.stderr, file, lineOf(yaml, 'nowhere.crl'), 'gateway.listen.https.crl[0]');
      assert.match(r.stderr, /missing-ca\.pem is not found/);
      assert.doesNotMatch(r.stderr, /ENOENT|at .*\.js:\d+/, 'no raw system error or stack');
      assert.doesNotMatch(r.stdout + r.stderr, /"msg":"listening"/);
    }
    // with the client CA present, the certificate files themselves are checked
    const file2 = writeConfig(yaml.replace('client-ca: [certs/missing-ca.pem]', 'client-ca: []').replace('crl: [nowhere.crl]', 'crl: []'), { 'not-a-key.pem': 'nothing here' });
    const r = await runCli(['validate', '--config', file2]);
    assert.equal(r.code, 1);
    assertLocated(r.stderr, file2, lineOf(yaml, 'certs/missing.pem'), 'gateway.listen.https.certificates[0].cert');
  });
});

describe('gatehouse start: the first hour', () => {
  it('a port already in use is a located config error, exit 1', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const file = writeConfig(`gateway:\n  listen:\n    host: 127.0.0.1\n    http: ${port}\napis:\n  - { name: a, path: /a, policies: { inbound: [ { return-response: { status: 204 } } ] } }\n`);
      const r = await runCli(['start', '--config', file]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`gatehouse\\.yaml:4:\\d+: gateway\\.listen\\.http: 127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      taken.close();
    }
  });

  it('an empty config is refused: validate exits 1, start exits 1 and says there is nothing to start', async () => {
    const file = writeConfig('# nothing here\n');
    const v = await runCli(['validate', '--config', file]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /empty/);
    const s = await runCli(['start', '--config', file]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /nothing to start/);
  });

  it('a missing OpenAPI document is "not found", said once however many operations use it', async () => {
    const file = writeConfig(`apis:\n  - name: a\n    path: /a\n    openapi: ./nope.yaml\n`);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /OpenAPI document not found: \.\/nope\.yaml/);
  });

  it('logs one `ready` line once the listeners are up and the keys are loaded, and no error on a healthy start', async () => {
    const { startGateway } = await import('../helpers/gateway.js');
    const { generateKeyPairSync } = await import('node:crypto');
    const { createServer } = await import('node:http');
    const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' };
    // the gateway publishes the key set itself (as the quickstart publishes its identity provider): the first fetch must reach it
    const backend = createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(req.url === '/jwks' ? { keys: [jwk] } : { issuer: `http://127.0.0.1:${gwPort}/idp`, jwks_uri: `http://127.0.0.1:${gwPort}/idp/jwks` })); });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const { freePort } = await import('../state/redis-servers.js');
    const gwPort = await freePort();
    const gw = await startGateway(`gateway:\n  listen: { host: 127.0.0.1, http: ${gwPort} }\nbackends:\n  idp: { url: "http://127.0.0.1:${(backend.address() as { port: number }).port}" }\napis:\n  - { name: idp, path: /idp, backend: idp }\n  - name: api\n    path: /api\n    policies:\n      inbound:\n        - validate-jwt: { openid-config: "http://127.0.0.1:${gwPort}/idp/.well-known/openid-configuration", audiences: [x] }\n        - return-response: { status: 204 }\n`);
    try {
      await gw.waitForLog((l) => l.msg === 'ready', 20000);
      const errors = gw.logs.filter((l) => (l.level as number) >= 50);
      assert.deepEqual(errors, [], 'a healthy start logs no error');
      assert.equal(gw.logs.filter((l) => l.msg === 'ready').length, 1);
    } finally {
      await gw.stop();
      backend.close();
    }
  });
});
