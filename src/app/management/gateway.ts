import { ManagementProblem } from './http.js';
import { ok, type Route } from './routing.js';
import type { ManagementServices } from './services.js';

/**
 * What the running gateway shows, read-only: its APIs with their effective configuration (routes,
 * operations, the policies of each scope, product membership; secrets redacted), the health of
 * its backends (as /backends), and its recent error responses.
 */

type Obj = Record<string, unknown>;
interface RouteView { api: string; hosts: string[]; path: string; backend: string | null; beforeOperation?: string[]; operations?: Obj[]; policies?: Obj }

export function gatewayRoutes(svc: ManagementServices): Route[] {
  const views = svc.views;
  const effective = async () => {
    const cfg = ((await views.config?.()) as { config?: Obj } | undefined)?.config ?? {};
    const routes = ((await views.routes?.()) ?? []) as RouteView[];
    const products = (cfg.products ?? []) as Array<{ id: string; name: string; apis: string[]; policies?: unknown }>;
    return { cfg, routes, products, apis: (cfg.apis ?? []) as Obj[] };
  };

  const summary = (api: Obj, e: Awaited<ReturnType<typeof effective>>) => {
    const route = e.routes.find((r) => r.api === api.name);
    return JSON.parse(JSON.stringify({
      name: api.name, hosts: route?.hosts ?? api.hosts ?? ['*'], path: route?.path ?? api.path, backend: route?.backend ?? api.backend ?? null,
      products: e.products.filter((p) => p.apis.includes(api.name as string)).map((p) => p.id),
      operations: route?.operations?.length ?? 0,
    })) as Obj;
  };

  return [
    {
      method: 'GET', path: '/apis', handler: async () => {
        const e = await effective();
        return ok({ items: e.apis.map((a) => summary(a, e)) });
      },
    },
    {
      method: 'GET', path: '/apis/{name}', handler: async (c) => {
        const e = await effective();
        const api = e.apis.find((a) => a.name === c.params.name);
        if (!api) throw new ManagementProblem('management-not-found', `No API "${c.params.name!}".`);
        const route = e.routes.find((r) => r.api === api.name);
        const ops = (api.operations ?? []) as Obj[];
        return ok(JSON.parse(JSON.stringify({
          ...summary(api, e),
          subscription: api.subscription,
          // the policies as configured, per scope, in the order they compose: global → product → API → operation
          policies: {
            global: e.cfg.policies ?? {},
            products: Object.fromEntries(e.products.filter((p) => p.apis.includes(api.name as string)).map((p) => [p.id, p.policies ?? {}])),
            api: api.policies ?? {},
            operations: Object.fromEntries(ops.filter((o) => o.policies !== undefined).map((o) => [String(o.id), o.policies])),
          },
          // what runs, per section, after composition
          effective: route ? { beforeOperation: route.beforeOperation ?? [], ...(route.operations ? { operations: route.operations } : { policies: route.policies }) } : undefined,
          config: api,
        })) as Obj);
      },
    },
    { method: 'GET', path: '/backends', handler: async () => ok((await views.backends?.()) ?? {}) },
    { method: 'GET', path: '/errors', handler: async () => ok({ items: (await views.errors?.()) ?? [] }) },
  ];
}
