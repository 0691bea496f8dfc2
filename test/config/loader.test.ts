import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/app/config.js';
import { ConfigInvalid } from '../../src/config/errors.js';

function errorsOf(yaml: string, env: Record<string, string> = {}) {
  try {
    loadConfigText(yaml, '/cfg/gatehouse.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigInvalid, String(err));
    return err.issues;
  }
  assert.fail('expected the config to be refused');
}

const base = `gateway:
  listen: { http: 0 }
backends:
  echo: { url: http://127.0.0.1:9 }
`;

test('accepts a valid config and applies defaults', () => {
  const { config } = loadConfigText(base + `apis:\n  - { name: a, path: /a, backend: echo }\n`, '/cfg/g.yaml', {});
  assert.equal(config.backends.echo!.timeout, 30);
  assert.equal(config.gateway!.limits['max-body-size'], 10 * 1024 * 1024);
  assert.equal(config.gateway!.store, 'memory');
  assert.equal(config.apis[0]!['allow-path-parameters'], false);
});

test('names file, line, column and path of an unknown key', () => {
  const issues = errorsOf(base + `apis:\n  - name: a\n    path: /a\n    bakend: echo\n`);
  assert.equal(issues.length, 1);
  assert.deepEqual({ ...issues[0] }, { file: '/cfg/gatehouse.yaml', line: 8, column: 5, path: 'apis[0].bakend', message: 'unknown key "bakend"; did you mean "backend"?' });
});

test('says what was expected and what was found, for a wrong type and for a key present with the wrong type', () => {
  const [port] = errorsOf(`gateway:\n  listen: { http: "abc" }\n`);
  assert.equal(port!.message, 'expected a number or a map, found the string "abc"');
  const [url] = errorsOf(`backends:\n  b: { url: 5 }\n`);
  assert.equal(url!.path, 'backends.b.url');
  assert.equal(url!.message, 'expected a string, found the number 5', 'present with the wrong type is not "required"');
  const [missing] = errorsOf(`apis:\n  - { name: a }\n`);
  assert.match(missing!.message, /^required \(expected a string\)$/);
});

test('suggests the key that was probably meant, in nested maps too; says nothing when nothing is close', () => {
  assert.match(errorsOf(`gateway:\n  listn: { http: 8080 }\n`)[0]!.message, /did you mean "listen"\?/);
  assert.match(errorsOf(`backends:\n  b: { url: "http://x", timout: 5 }\n`)[0]!.message, /did you mean "timeout"\?/);
  assert.equal(errorsOf(`gateway:\n  zzzzzzzz: 1\n`)[0]!.message, 'unknown key "zzzzzzzz"');
});

test('a YAML syntax error says so, once per position, without the parser\'s own text of the position', () => {
  const issues = errorsOf(`gateway:\n listen: 1\n  admin: 2\n`);
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, /^YAML syntax: /);
  assert.doesNotMatch(issues[0]!.message, /at line \d+/);
  assert.equal(issues[0]!.line, 2);
});

test('an unknown policy name is an error, never ignored', () => {
  const issues = errorsOf(base + `policies:\n  inbound:\n    - validate-jwtt: {}\n`);
  assert.equal(issues[0]!.path, 'policies.inbound[0].validate-jwtt');
  assert.equal(issues[0]!.line, 7);
  assert.match(issues[0]!.message, /unknown policy "validate-jwtt"/);
});

test('policy config errors carry the full path', () => {
  const issues = errorsOf(base + `apis:\n  - name: a\n    path: /a\n    policies:\n      inbound:\n        - base\n        - set-header: { name: "bad name", value: x, colour: red }\n`);
  const paths = issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ['apis[0].policies.inbound[1].set-header.colour', 'apis[0].policies.inbound[1].set-header.name']);
  assert.ok(issues.every((i) => i.line === 11));
});

test('a policy in a section it does not belong to is an error', () => {
  const issues = errorsOf(base + `policies:\n  outbound:\n    - rewrite-uri: { template: /x }\n`);
  assert.match(issues[0]!.message, /cannot be used in outbound/);
});

test('reports every error at once', () => {
  const issues = errorsOf(`gateway:\n  listen: { http: -1 }\n  workers: 0\nbackends:\n  echo: { url: ftp://x, timeout: soon }\n`);
  assert.ok(issues.length >= 4, JSON.stringify(issues));
  assert.ok(issues.some((i) => i.path === 'backends.echo.timeout' && /not a duration/.test(i.message)));
  assert.ok(issues.some((i) => i.path === 'backends.echo.url'));
});

test('durations and sizes accept units', () => {
  const { config } = loadConfigText(`gateway:\n  limits: { max-body-size: 1mb, header-timeout: 2m }\nbackends:\n  e: { url: "http://x", timeout: 1h, connect-timeout: 250ms }\n`, '/c.yaml', {});
  assert.equal(config.gateway!.limits['max-body-size'], 1024 * 1024);
  assert.equal(config.gateway!.limits['header-timeout'], 120);
  assert.equal(config.backends.e!.timeout, 3600);
  assert.equal(config.backends.e!['connect-timeout'], 0.25);
});

test('${ENV:NAME} substitutes, and a missing variable is an error at its line', () => {
  const yaml = `backends:\n  e: { url: "http://\${ENV:HOST}:80" }\n  f: { url: "http://\${ENV:NOPE}" }\n`;
  const issues = errorsOf(yaml, { HOST: 'svc' });
  assert.equal(issues[0]!.line, 3);
  assert.match(issues[0]!.message, /NOPE is not set/);
  const { config } = loadConfigText(`backends:\n  e: { url: "http://\${ENV:HOST}:80" }\n`, '/c.yaml', { HOST: 'svc' });
  assert.equal(config.backends.e!.url, 'http://svc:80');
});

test('YAML syntax errors and duplicate keys are located', () => {
  const issues = errorsOf(`backends:\n  e: { url: http://x }\n  e: { url: http://y }\n`);
  assert.equal(issues[0]!.line, 3);
});

test('${ENV:NAME:-default} falls back to the default only when the variable is unset', () => {
  const yaml = `backends:\n  e: { url: "http://\${ENV:H:-fallback}:80" }\n`;
  assert.equal(loadConfigText(yaml, '/c.yaml', {}).config.backends.e!.url, 'http://fallback:80');
  assert.equal(loadConfigText(yaml, '/c.yaml', { H: 'set' }).config.backends.e!.url, 'http://set:80');
});
