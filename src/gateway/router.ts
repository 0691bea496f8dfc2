import FindMyWay from 'find-my-way';

/**
 * Routing in two steps, both on radix trees (find-my-way), so 1,000 APIs route as fast as 1:
 *  1. host (exact, then `*.suffix` wildcards, then host-less APIs) + longest path prefix → API;
 *  2. method + path template (`/orders/{id}`) → operation, within the API.
 */

export interface RoutedApi<A> {
  api: A;
  /** the path after the API prefix ('' or starting with '/') */
  rest: string;
}

type Tree = ReturnType<typeof FindMyWay>;
const noop = () => undefined;

function newTree(): Tree {
  return FindMyWay({ caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 2048 });
}

/** Escape a literal path piece for find-my-way (`:` and `*` are special). */
function literal(s: string): string {
  return s.replace(/:/g, '::').replace(/\*/g, '%2A');
}

export class ApiRouter<A> {
  private readonly byHost = new Map<string, Tree>();
  private readonly wildcards: Array<{ suffix: string; tree: Tree }> = [];
  private readonly any = newTree();
  private readonly all: Array<{ tree: Tree; prefixes: Set<string> }> = [];

  /** `prefix` is normalized without trailing slash ('' for the root). Throws on a duplicate. */
  add(api: A, prefix: string, hosts: readonly string[] | undefined): void {
    const trees: Tree[] = [];
    if (!hosts || hosts.length === 0) trees.push(this.any);
    else {
      for (const h of hosts) {
        const host = h.toLowerCase();
        if (host.startsWith('*.')) {
          let w = this.wildcards.find((x) => x.suffix === host.slice(1));
          if (!w) {
            w = { suffix: host.slice(1), tree: newTree() };
            this.wildcards.push(w);
            this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
          }
          trees.push(w.tree);
        } else {
          let t = this.byHost.get(host);
          if (!t) this.byHost.set(host, (t = newTree()));
          trees.push(t);
        }
      }
    }
    for (const tree of trees) {
      let entry = this.all.find((e) => e.tree === tree);
      if (!entry) this.all.push((entry = { tree, prefixes: new Set() }));
      if (entry.prefixes.has(prefix)) throw new Error(`two APIs have the path ${prefix || '/'} on the same host`);
      entry.prefixes.add(prefix);
      const store = { api, prefixLength: prefix.length };
      const p = literal(prefix);
      tree.on('GET', p === '' ? '/' : p, noop, store);
      tree.on('GET', `${p}/*`, noop, store);
    }
  }

  match(host: string | undefined, path: string): RoutedApi<A> | undefined {
    if (host !== undefined && (this.byHost.size > 0 || this.wildcards.length > 0)) {
      const h = stripPort(host).toLowerCase();
      const exact = this.byHost.get(h);
      const found = exact && find(exact, path);
      if (found) return found as RoutedApi<A>;
      for (const w of this.wildcards) {
        if (h.endsWith(w.suffix) && h.length > w.suffix.length) {
          const f = find(w.tree, path);
          if (f) return f as RoutedApi<A>;
        }
      }
    }
    return find(this.any, path) as RoutedApi<A> | undefined;
  }
}

function find(tree: Tree, path: string): RoutedApi<unknown> | undefined {
  const r = tree.find('GET', path);
  if (!r) return undefined;
  const store = r.store as { api: unknown; prefixLength: number };
  return { api: store.api, rest: path.slice(store.prefixLength) };
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

export interface OperationMatch<O> {
  op: O;
  params: Record<string, string>;
}

/** Operations of one API by method and template. */
export class OperationRouter<O> {
  private readonly tree = newTree();
  private readonly methods = new Set<string>();
  private count = 0;
  private readonly list: O[] = [];

  /** `template` is relative to the API path, e.g. `/{id}`; throws on a conflict */
  add(method: string, template: string, op: O): void {
    const m = method.toUpperCase();
    const renamed: Array<[string, string]> = [];
    const path = toFindMyWay(template, renamed);
    this.tree.on(m as 'GET', path, noop, { op, renamed });
    this.methods.add(m);
    this.count++;
    this.list.push(op);
  }

  /** every operation, in the order they were added */
  all(): readonly O[] {
    return this.list;
  }

  /** number of operations */
  get size(): number {
    return this.count;
  }

  match(method: string, rest: string): OperationMatch<O> | undefined {
    const path = rest === '' ? '/' : rest;
    let r = this.tree.find(method as 'GET', path);
    if (!r && method === 'HEAD') r = this.tree.find('GET', path);
    if (!r) return undefined;
    const store = r.store as { op: O; renamed: Array<[string, string]> };
    const params = r.params as Record<string, string>;
    for (const [from, to] of store.renamed) { params[to] = params[from]!; delete params[from]; }
    return { op: store.op, params };
  }

  /** methods that would match this path (for 405 + Allow) */
  allowed(rest: string): string[] {
    const path = rest === '' ? '/' : rest;
    const out: string[] = [];
    for (const m of this.methods) if (this.tree.find(m as 'GET', path)) out.push(m);
    if (out.includes('GET') && !out.includes('HEAD')) out.push('HEAD');
    return out;
  }
}

/** `/orders/{id}/items/{itemId}` → `/orders/:id/items/:itemId` */
export function toFindMyWay(template: string, renamed: Array<[string, string]> = []): string {
  let out = '';
  let i = 0;
  const t = template.startsWith('/') ? template : '/' + template;
  while (i < t.length) {
    const open = t.indexOf('{', i);
    if (open === -1) { out += literal(t.slice(i)); break; }
    out += literal(t.slice(i, open));
    const close = t.indexOf('}', open);
    if (close === -1) throw new Error(`unclosed { in path template ${template}`);
    const name = t.slice(open + 1, close);
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad parameter name {${name}} in ${template}`);
    const safe = name.replace(/[.-]/g, '_');
    if (safe !== name) renamed.push([safe, name]);
    out += ':' + safe;
    i = close + 1;
  }
  return out;
}
