import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/app/config.js';
import { ConfigInvalid } from '../../src/config/errors.js';

/** `observability.tracing`: off unless present, defaults, and located errors for what cannot work. */

const base = `gateway:
  listen: { http: 0 }
`;

function errorsOf(yaml: string) {
  try {
    loadConfigText(yaml, '/cfg/gatehouse.yaml', {});
  } catch (err) {
    assert.ok(err instanceof ConfigInvalid, String(err));
    return err.issues;
  }
  assert.fail('expected the config to be refused');
}

test('tracing is off unless the section is present', () => {
  assert.equal(loadConfigText(base, '/cfg/g.yaml', {}).config.observability, undefined);
});

test('an empty tracing section turns tracing on with every default', () => {
  const t = loadConfigText(base + 'observability: { tracing: {} }\n', '/cfg/g.yaml', {}).config.observability!.tracing!;
  assert.equal(t.enabled, true);
  assert.equal(t.endpoint, 'http://127.0.0.1:4318/v1/traces');
  assert.equal(t['service-name'], 'gatehouse');
  assert.deepEqual(t.sampling, { ratio: 1, 'parent-based': true });
  assert.deepEqual(t.batch, { 'max-queue-size': 2048, 'max-export-batch-size': 512, delay: 5 });
  assert.equal(t.timeout, 10);
});

test('durations take units', () => {
  const t = loadConfigText(base + 'observability: { tracing: { timeout: 500ms, batch: { delay: 1m } } }\n', '/cfg/g.yaml', {}).config.observability!.tracing!;
  assert.equal(t.timeout, 0.5);
  assert.equal(t.batch.delay, 60);
});

test('refuses, located, an endpoint that is not http(s), a ratio outside 0..1, a batch larger than the queue, an unknown key', () => {
  const [scheme] = errorsOf(base + 'observability:\n  tracing:\n    endpoint: ftp://collector/v1/traces\n');
  assert.equal(scheme!.path, 'observability.tracing.endpoint');
  assert.equal(scheme!.line, 5);
  assert.match(scheme!.message, /http:\/\/ or https:\/\//);
  const [ratio] = errorsOf(base + 'observability:\n  tracing:\n    sampling: { ratio: 1.5 }\n');
  assert.equal(ratio!.path, 'observability.tracing.sampling.ratio');
  const [batch] = errorsOf(base + 'observability:\n  tracing:\n    batch: { max-queue-size: 10, max-export-batch-size: 100 }\n');
  assert.equal(batch!.path, 'observability.tracing.batch.max-export-batch-size');
  const [unknown] = errorsOf(base + 'observability:\n  tracing:\n    endpont: http://x/v1/traces\n');
  assert.equal(unknown!.path, 'observability.tracing.endpont');
  assert.match(unknown!.message, /did you mean "endpoint"/);
  const [timeout] = errorsOf(base + 'observability:\n  tracing:\n    timeout: forever\n');
  assert.equal(timeout!.path, 'observability.tracing.timeout');
});
