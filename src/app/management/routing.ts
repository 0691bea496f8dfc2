import type { IncomingMessage } from 'node:http';
import { ManagementProblem } from './http.js';

/**
 * The management API's route table: a method and a path template (`/users/{id}/lock`) per
 * handler. A template matches a path of as many segments whose literals are equal; `{name}`
 * captures one (decoded) segment.
 */

/** What a handler gets: the request, its path parameters and query, and who calls. */
export interface Call {
  req: IncomingMessage;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** the caller, as the audit log records it */
  actor: string;
}

export interface Reply { status: number; body?: unknown }

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handler: (c: Call) => Promise<Reply>;
}

export const ok = (body: unknown, status = 200): Reply => ({ status, body });

interface Compiled { route: Route; parts: Array<{ literal: string } | { param: string }> }

export class RouteTable {
  private readonly routes: Compiled[];

  constructor(routes: readonly Route[]) {
    this.routes = routes.map((route) => ({
      route,
      parts: route.path.split('/').filter(Boolean).map((p) => (/^\{\w+\}$/.test(p) ? { param: p.slice(1, -1) } : { literal: p })),
    }));
  }

  /** The route of `method` and `segments` (decoded) with its parameters; a problem when there is none. */
  find(method: string, segments: readonly string[]): { route: Route; params: Record<string, string> } {
    let pathKnown = false;
    for (const c of this.routes) {
      if (c.parts.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const match = c.parts.every((p, i) => ('literal' in p ? p.literal === segments[i] : ((params[p.param] = segments[i]!), true)));
      if (!match) continue;
      pathKnown = true;
      if (c.route.method === method) return { route: c.route, params };
    }
    throw new ManagementProblem('management-not-found', pathKnown
      ? `The method ${method} does not apply to this resource; see /management/openapi.json.`
      : 'No such management resource; see /management/openapi.json.');
  }
}
