import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Scenarios for the bench harness: a JSON order of ~1 KB and ~100 KB posted through the gateway,
 * with and without `validate-content` (same document, same route), so the run prints the cost of
 * validation as a ratio. The OpenAPI document is the test fixture `test/fixtures/openapi/shop`;
 * its path is absolute in the YAML, so the config can be written anywhere.
 */
export interface ValidationScenario {
  name: string;
  yaml: string;
  body: Buffer;
  path: string;
  contentType: string;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOP_OPENAPI = join(ROOT, 'test/fixtures/openapi/shop/openapi.yaml');

/** A valid `createOrder` body of about `bytes` bytes (more lines make it bigger). */
export function orderBody(bytes: number): Buffer {
  const line = (i: number) => ({ sku: `ABC-${String(1000 + (i % 9000)).padStart(4, '0')}`, quantity: 1 + (i % 50), giftWrap: i % 2 === 0 });
  const order = {
    customerId: '0b9f1e6e-8a3c-4c57-9a33-0c5b7c1d2e3f',
    currency: 'EUR',
    payment: { method: 'card', token: 'tok_1234567890abcdef', last4: '4242' },
    note: 'Leave at the door',
    lines: [] as Array<ReturnType<typeof line>>,
  };
  let text = JSON.stringify(order);
  for (let i = 0; text.length < bytes && i < 50; i++) { order.lines.push(line(i)); text = JSON.stringify(order); }
  return Buffer.from(text);
}

/** ~`bytes` of realistic JSON: a batch of orders for `POST /orders/batch`. */
export function batchBody(bytes: number): Buffer {
  const one = JSON.parse(orderBody(1024).toString()) as unknown;
  const n = Math.max(1, Math.round(bytes / (JSON.stringify(one).length + 1)));
  return Buffer.from(JSON.stringify(Array.from({ length: n }, () => one)));
}

function config(backendUrl: string, validate: boolean): string {
  return `gateway: { listen: { http: 0 }, admin: { listen: 0 } }
backends:
  shop: { url: ${backendUrl} }
apis:
  - name: shop
    path: /shop
    backend: shop
    openapi: ${JSON.stringify(SHOP_OPENAPI)}
${validate ? `    policies:
      inbound:
        - validate-content: { max-size: 256kb }
` : ''}`;
}

export function validationScenarios(backendUrl: string): ValidationScenario[] {
  const small = orderBody(1024);
  const large = batchBody(100 * 1024);
  const out: ValidationScenario[] = [];
  for (const [label, body, path] of [['1kb', small, '/shop/orders'], ['100kb', large, '/shop/orders/batch']] as const) {
    out.push({ name: `json ${label}, no validation`, yaml: config(backendUrl, false), body, path, contentType: 'application/json' });
    out.push({ name: `json ${label}, validate-content`, yaml: config(backendUrl, true), body, path, contentType: 'application/json' });
  }
  return out;
}
