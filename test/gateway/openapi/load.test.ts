import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOpenApi, openApiSource } from '../../../src/gateway/openapi/load.js';
import { ConfigError } from '../../../src/config/errors.js';
import { EXAMPLES, ROOT, SHOP } from './harness.js';

function tmpDoc(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oas-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('loads the multi-file shop document: operations, ids and templates relative to the API', async () => {
  const l = await loadOpenApi(SHOP);
  assert.equal(l.version, '3.1');
  const ids = l.operations.map((o) => `${o.id} ${o.method} ${o.template}`);
  assert.ok(ids.includes('listOrders GET /orders'));
  assert.ok(ids.includes('getOrder GET /orders/{orderId}'));
  assert.ok(ids.includes('getCustomerOrder GET /customers/{customerId}/orders/{orderId}'));
  // $refs across files are resolved in the document handed to the core
  const create = l.operations.find((o) => o.id === 'createOrder')!;
  const schema = (create.operation.requestBody!.content!['application/json']!.schema as Record<string, unknown>);
  assert.deepEqual(schema.required, ['customerId', 'currency', 'lines', 'payment']);
  assert.equal(l.operations.find((o) => o.id === 'getOrder')!.pathParameters[0]!.name, 'orderId');
  // the bundled copy keeps internal $refs only
  const bundled = JSON.stringify(openApiSource(l.document)!.bundled);
  assert.ok(!bundled.includes('.yaml#'));
});

test('names operations without operationId "METHOD /template"', async () => {
  const f = tmpDoc('a.yaml', 'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths:\n  /things/{id}:\n    parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n    delete:\n      responses: {"204": {description: gone}}\n');
  const l = await loadOpenApi(f);
  assert.deepEqual(l.operations.map((o) => o.id), ['DELETE /things/{id}']);
});

test('a broken document is a ConfigError naming the file', async () => {
  const cases: Record<string, string> = {
    'missing-ref.yaml': 'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      responses: {"200": {$ref: "./nope.yaml#/x"}}\n',
    'no-version.yaml': 'openapi: 3.1.0\ninfo: {title: t}\npaths: {}\n',
    'not-yaml.yaml': 'openapi: [3.1.0\n',
    'swagger2.yaml': 'swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths: {}\n',
    'undeclared-path-param.yaml': 'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths:\n  /a/{id}:\n    get:\n      responses: {"200": {description: ok}}\n',
    'duplicate-operation-id.yaml': 'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get: {operationId: x, responses: {"200": {description: ok}}}\n  /b:\n    get: {operationId: x, responses: {"200": {description: ok}}}\n',
  };
  for (const [name, text] of Object.entries(cases)) {
    const f = tmpDoc(name, text);
    await assert.rejects(loadOpenApi(f), (err: unknown) => err instanceof ConfigError && err.message.includes(f), name);
  }
});

test('does not follow $refs to http URLs', async () => {
  const f = tmpDoc('remote.yaml', 'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      responses: {"200": {$ref: "http://127.0.0.1:9/x.yaml#/r"}}\n');
  await assert.rejects(loadOpenApi(f), ConfigError);
});

test('loads real-world documents shipped in @readme/oas-examples (Train Travel API 3.1, Petstore 3.0)', async () => {
  const train = await loadOpenApi(join(EXAMPLES, '3.1/yaml/train-travel.yaml'));
  assert.equal(train.version, '3.1');
  assert.ok(train.operations.some((o) => o.id === 'create-booking' && o.method === 'POST'));
  const pet = await loadOpenApi(join(EXAMPLES, '3.0/json/petstore.json'));
  assert.equal(pet.version, '3.0');
  assert.ok(pet.operations.some((o) => o.id === 'addPet'));
  void ROOT;
});
