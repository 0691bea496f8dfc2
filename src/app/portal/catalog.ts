import SwaggerParser from '@apidevtools/swagger-parser';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_KEY_HEADER, DEFAULT_KEY_QUERY } from '../../gateway/subscriptions/schema.js';
import type { LoadedGatehouseConfig } from '../config.js';

/**
 * What the portal publishes, from the configuration: the APIs (path, how the key is sent, the
 * products that contain them, the OpenAPI document bundled with internal `$ref`s only) and the
 * products developers may subscribe to. Built once per process; documents load in the background.
 */

export interface PublishedApi {
  name: string;
  path: string;
  products: string[];
  key: { header: string; query: string };
  openapi: Record<string, unknown> | undefined;
}

export interface PublishedProduct { id: string; name: string; description?: string; apis: string[]; approval: 'auto' | 'manual' }

export interface Catalog {
  apis: Map<string, PublishedApi>;
  products: Map<string, PublishedProduct>;
}

export function buildCatalog(loaded: LoadedGatehouseConfig, logger: Logger): Catalog {
  const cfg = loaded.config;
  const portal = cfg.portal!;
  const allProducts = cfg.products ?? [];
  const offered = allProducts.filter((p) => portal.products === undefined || portal.products.includes(p.id));
  const inProducts = new Set(allProducts.flatMap((p) => p.apis));
  const names = new Set(portal.apis ?? [...inProducts]);
  const apis = new Map<string, PublishedApi>();
  for (const a of cfg.apis) {
    if (!names.has(a.name)) continue;
    const entry: PublishedApi = {
      name: a.name,
      path: a.path,
      products: offered.filter((p) => p.apis.includes(a.name)).map((p) => p.id),
      key: { header: a.subscription?.header ?? DEFAULT_KEY_HEADER, query: a.subscription?.query ?? DEFAULT_KEY_QUERY },
      openapi: undefined,
    };
    apis.set(a.name, entry);
    if (a.openapi !== undefined) {
      const file = isAbsolute(a.openapi) ? a.openapi : resolve(loaded.dir, a.openapi);
      (new SwaggerParser().bundle(file, { resolve: { http: false } } as never) as unknown as Promise<unknown>)
        .then((doc) => { entry.openapi = doc as unknown as Record<string, unknown>; })
        .catch((err: unknown) => logger.warn({ err, api: a.name }, 'portal: the OpenAPI document could not be read'));
    }
  }
  const products = new Map(offered.map((p) => [p.id, JSON.parse(JSON.stringify({ id: p.id, name: p.name, description: p.description, apis: p.apis, approval: p.approval })) as PublishedProduct]));
  return { apis, products };
}
