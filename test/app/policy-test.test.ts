import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT, runCli } from '../helpers/gateway.js';

/**
 * gatehouse test: the real pipeline with a canned backend. Cases that must pass pass, cases that
 * must fail fail with the reason, reports are TAP and JUnit, the quickstart's own policy tests
 * pass, and the test key can only stand in for an issuer in the test runner.
 */

const CONFIG = `gateway:
  listen: { host: 127.0.0.1, http: 8080 }
backends:
  # port 1: if anything reached the real backend the answer would be 502, not the canned one
  svc: { url: "http://127.0.0.1:1/base" }
apis:
  - name: svc
    path: /svc
    backend: svc
    policies:
      inbound:
        - validate-jwt:
            openid-config: https://login.example.com/.well-known/openid-configuration
            audiences: [api://svc]
            forward-token: false
            forward-claims: { sub: X-User }
        - set-header: { name: X-From-Gateway, value: "yes" }
      outbound:
        - set-header: { name: X-Backend-Secret, exists-action: delete }
  - name: static
    path: /static
    backend: svc
    policies:
      inbound:
        - validate-jwt:
            issuers: [https://login.example.com]
            audiences: [api://svc]
            issuer-signing-keys: [{ secret: "${Buffer.alloc(32, 9).toString('base64')}" }]
`;

const TESTS = `config: ./gatehouse.yaml
issuer: https://login.example.com
cases:
  - name: a valid token reaches the backend, which gets the claims header and neither the token nor a forged certificate header
    request:
      method: GET
      path: /svc/things
      query: { x: "1" }
      headers: { X-Forwarded-Client-Cert: "Hash=forged", X-User: mallory }
    token: { claims: { sub: alice, aud: api://svc } }
    backend:
      status: 200
      headers: { X-Backend: one, X-Backend-Secret: hidden }
      body: { items: [{ id: 7 }] }
    expect:
      status: 200
      headers:
        x-backend: one
        x-backend-secret: { absent: true }
        content-type: { matches: "^application/json" }
      body: { /items/0/id: 7, items.0.id: 7 }
      backend:
        method: GET
        path: /base/things?x=1
        headers:
          x-user: alice
          x-from-gateway: "yes"
          authorization: { absent: true }
          x-forwarded-client-cert: { absent: true }
  - name: a token claiming another issuer is refused although the test key signed it
    request: { path: /svc/things }
    token: { claims: { sub: alice, aud: api://svc, iss: https://evil.example.com } }
    expect:
      status: 401
      body: { code: token-issuer-invalid }
      backend: { called: false }
  - name: the test key stands in for configured keys when the issuer is listed
    request: { path: /static/x }
    token: { claims: { sub: bob, aud: api://svc } }
    expect:
      status: 200
      backend: { path: /base/x, headers: { authorization: { matches: "^Bearer ey" } } }
  - name: a token without exp is refused (null leaves a claim out)
    request: { path: /svc/things }
    token: { claims: { sub: alice, aud: api://svc, exp: null } }
    expect: { status: 401, backend: { called: false } }
  - name: "MUST FAIL: status"
    request: { path: /svc/things }
    expect: { status: 200 }
  - name: "MUST FAIL: backend header"
    request: { path: /svc/things }
    token: { claims: { sub: alice, aud: api://svc } }
    expect:
      backend: { headers: { authorization: { present: true } } }
  - name: "MUST FAIL: backend called"
    request: { path: /svc/things }
    token: { claims: { sub: alice, aud: api://svc } }
    expect:
      backend: { called: false }
  - name: "MUST FAIL: body field"
    request: { path: /svc/things }
    expect:
      body: { /code: token-expired, /nothing: { present: true } }
`;

describe('gatehouse test', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-test-'));
    writeFileSync(join(dir, 'gatehouse.yaml'), CONFIG);
    file = join(dir, 'svc.tests.yaml');
    writeFileSync(file, TESTS);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the cases that hold and fails the ones that do not, saying why (TAP, exit 1)', async () => {
    const r = await runCli(['test', file]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'TAP version 14');
    assert.equal(lines[1], '1..8');
    for (let i = 1; i <= 4; i++) assert.ok(lines.some((l) => l.startsWith(`ok ${i} - `)), `case ${i} passes:\n${r.stdout}`);
    for (let i = 5; i <= 8; i++) assert.ok(lines.some((l) => l.startsWith(`not ok ${i} - `) && l.includes('MUST FAIL')), `case ${i} fails:\n${r.stdout}`);
    assert.match(r.stdout, /"status: expected 200, found 401/);
    assert.match(r.stdout, /"backend request header authorization: expected present, found absent"/);
    assert.match(r.stdout, /"backend: expected not to be called, but it got GET \/base\/things"/);
    assert.match(r.stdout, /"response body field \/code: expected \\"token-expired\\", found \\"token-missing\\""/);
    assert.match(r.stdout, /"response body field \/nothing: expected present, found absent"/);
    assert.match(r.stdout, /# 4 passed, 4 failed/);
  });

  it('writes JUnit XML with --reporter junit --output', async () => {
    const out = join(dir, 'report.xml');
    const r = await runCli(['test', file, '--reporter', 'junit', '--output', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /4 passed, 4 failed/);
    const xml = readFileSync(out, 'utf8');
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="gatehouse test" tests="8" failures="4"/);
    assert.equal(xml.match(/<testcase /g)?.length, 8);
    assert.equal(xml.match(/<failure message=/g)?.length, 4);
    assert.match(xml, /name="MUST FAIL: status"/);
    assert.match(xml, /status: expected 200, found 401/);
  });

  it('a test file that cannot be loaded fails with located errors', async () => {
    const missing = join(dir, 'missing.tests.yaml');
    writeFileSync(missing, 'config: ./nowhere.yaml\ncases:\n  - name: x\n    request: { path: / }\n    expect: { status: 200 }\n');
    const r = await runCli(['test', missing]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not ok 1 - .*: load/);
    assert.match(r.stdout, /nowhere\.yaml:0:0: config file not found/);
    const typo = join(dir, 'typo.tests.yaml');
    writeFileSync(typo, 'config: ./gatehouse.yaml\ncases:\n  - name: x\n    request: { path: / }\n    expct: { status: 200 }\n');
    const t = await runCli(['test', typo]);
    assert.equal(t.code, 1);
    assert.match(t.stdout, /typo\.tests\.yaml:5:5: cases\[0\]\.expct: unknown key \\"expct\\"; did you mean \\"expect\\"\?/);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await runCli(['test'])).code, 2);
    assert.equal((await runCli(['test', file, '--reporter', 'xml'])).code, 2);
  });

  it('the quickstart\'s policy tests pass', async () => {
    const r = await runCli(['test', 'examples/quickstart/policy-tests.yaml'], { cwd: ROOT });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /^not ok/m);
    const planned = Number(/^1\.\.(\d+)$/m.exec(r.stdout)![1]);
    assert.ok(planned >= 10);
    assert.equal(r.stdout.match(/^ok \d+ - /gm)?.length, planned);
  });

  it('the existing-idp example\'s policy tests pass, with its three variables set', async () => {
    const env = { OIDC_ISSUER: 'https://login.example.com/tenant/v2.0', API_AUDIENCE: 'api://orders', BACKEND_URL: 'http://127.0.0.1:3000' };
    const r = await runCli(['test', 'examples/existing-idp/policy-tests.yaml'], { cwd: ROOT, env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^1\.\.4$/m);
    assert.equal(r.stdout.match(/^ok \d+ - /gm)?.length, 4);
    // another issuer than the example's tokens come from: the stand-in key does not apply, every token case fails
    const other = await runCli(['test', 'examples/existing-idp/policy-tests.yaml'], { cwd: ROOT, env: { ...env, OIDC_ISSUER: 'https://other.example.com' } });
    assert.equal(other.code, 1, other.stdout);
  });
});

describe('test-only seams', () => {
  /** the source files (relative to src/) that name `word` */
  function namers(word: string): string[] {
    const src = join(ROOT, 'src');
    const out: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (n.endsWith('.ts') && readFileSync(p, 'utf8').includes(word)) out.push(relative(src, p));
      }
    };
    walk(src);
    return out.sort();
  }

  it('stand-in keys are given only by the policy test runner, never by start, the edge or a config', () => {
    assert.deepEqual(namers('standInKeys'), [
      'app/policy-test/run.ts', 'gateway/compile/context.ts', 'gateway/compile/index.ts', 'gateway/jwt/source.ts', 'gateway/policies/validate-jwt.ts', 'gateway/policy.ts',
    ].sort());
  });

  it('the backend call is replaced only by the policy test runner', () => {
    assert.deepEqual(namers('backendCall'), ['app/policy-test/run.ts', 'gateway/context.ts', 'gateway/stages.ts'].sort());
  });
});
