import { didYouMean } from '../../config/messages.js';
import { POLICY_BY_NAME } from '../policies/index.js';
import { runsBeforeOperation, SECTIONS } from '../policy.js';
import type { ApiConfig } from '../schema.js';
import type { ProductConfig } from '../subscriptions/products.js';
import { DEFAULT_KEY_HEADER, DEFAULT_KEY_QUERY } from '../subscriptions/schema.js';
import { expandScope, type Fail, type Refs } from './scopes.js';

/**
 * Products as policy scopes. A product's policies sit between the global scope and the API's
 * (global → product → API → operation, `base` as everywhere). An API in several products is
 * compiled once per product it is in, plus once without a product: which one runs is decided per
 * request by the subscription key (a product subscription selects its product; a subscription to
 * the API or to all APIs, or no key where none is required, runs the chain without a product).
 */

/** A product as an API sees it: its id, its expanded scope, whether it requires keys. */
export interface ProductScope { id: string; refs: Refs; requiresKey: boolean }

/** The products of each API, by API name; unknown API names and misplaced policies are reported. */
export function productScopes(products: readonly ProductConfig[] | undefined, apis: readonly ApiConfig[], globalRefs: Refs, fail: Fail): Map<string, ProductScope[]> {
  const byApi = new Map<string, ProductScope[]>();
  const names = apis.map((a) => a.name);
  const seen = new Set<string>();
  for (const [i, p] of (products ?? []).entries()) {
    const path = ['products', i];
    if (seen.has(p.id)) fail([...path, 'id'], `another product already has the id "${p.id}"`);
    seen.add(p.id);
    for (const s of SECTIONS) for (const e of p.policies?.[s] ?? []) {
      if (e.kind === 'policy' && runsBeforeOperation(POLICY_BY_NAME.get(e.name)!)) {
        fail([...path, 'policies', s], `${e.name} applies before the subscription key is read: put it in the API's or the global policies`);
      }
    }
    const scope: ProductScope = { id: p.id, refs: expandScope(p.policies, [...path, 'policies'], globalRefs, fail), requiresKey: p['subscription-required'] };
    for (const [j, api] of p.apis.entries()) {
      if (!names.includes(api)) {
        const near = didYouMean(api, names);
        fail([...path, 'apis', j], `no API named "${api}"${near ? `; did you mean "${near}"?` : ''}`);
        continue;
      }
      const list = byApi.get(api) ?? [];
      if (!list.some((x) => x.id === p.id)) list.push(scope);
      byApi.set(api, list);
    }
  }
  return byApi;
}

/** Where an API reads keys and whether it needs them; undefined when it neither is in a product nor asks for keys. */
export function keySettings(apiCfg: ApiConfig, products: readonly ProductScope[]): { required: boolean; header: string; query: string } | undefined {
  const sc = apiCfg.subscription;
  if (sc === undefined && products.length === 0) return undefined;
  return {
    required: sc?.required ?? products.some((p) => p.requiresKey),
    header: (sc?.header ?? DEFAULT_KEY_HEADER).toLowerCase(),
    query: sc?.query ?? DEFAULT_KEY_QUERY,
  };
}
