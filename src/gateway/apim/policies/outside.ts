import { attribute, childElements, MemoryBody, MemoryMap, type ApimResponse, type XmlElement } from '../../../apim/index.js';
import type { CacheStore } from '../../../upstream/cache-store.js';
import { PolicyRunError } from '../block.js';
import { backendsForUrls } from '../backends.js';
import type { ExchangeContext } from '../context.js';
import { loadError, registerPolicy, type XCompile, type XStep } from '../registry.js';
import { boolAttr, compileExpr as compileExprOf, contentOf, intAttr, literalAttr, strAttr, type Get } from '../values.js';

/** Policies that reach outside the request: the value cache and send-request. */

const ALL = ['inbound', 'backend', 'outbound', 'on-error'] as const;

function cacheOf(el: XmlElement, ctx: XCompile): CacheStore {
  const t = literalAttr(el, 'caching-type') ?? 'prefer-external';
  if (t !== 'internal' && t !== 'external' && t !== 'prefer-external') throw loadError('unsupported-attribute', `caching-type is internal, external or prefer-external, not "${t}"`, attribute(el, 'caching-type')!.valuePos);
  try { return ctx.policy.cacheStore(t); } catch (err) { throw loadError('unsupported-attribute', (err as Error).message, el.pos); }
}

const PREFIX = 'apim:value:';

function encode(v: unknown): Buffer | undefined {
  if (typeof v === 'bigint') return Buffer.from(JSON.stringify({ t: 'long', v: v.toString() }));
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return Buffer.from(JSON.stringify({ t: typeof v, v }));
  if (v !== null && typeof v === 'object') return Buffer.from(JSON.stringify({ t: 'string', v: String(v) }));
  return undefined;
}

function decode(b: Buffer): unknown {
  try {
    const o = JSON.parse(b.toString()) as { t: string; v: unknown };
    return o.t === 'long' ? BigInt(o.v as string) : o.v;
  } catch { return undefined; }
}

registerPolicy({
  name: 'cache-store-value', sections: ALL, attributes: ['key', 'value', 'duration', 'caching-type'], required: ['key', 'value', 'duration'],
  compile(el, ctx) {
    const store = cacheOf(el, ctx);
    const key = strAttr(el, 'key', ctx)!;
    const dur = intAttr(el, 'duration', ctx, undefined, 0)!;
    const a = attribute(el, 'value')!;
    const value: Get<unknown> = typeof a.value === 'string' ? ((s) => () => s)(a.value) : ((e) => (c: ExchangeContext) => e.evaluate(c))(compileExprOf(a.value, undefined, ctx));
    return async (c) => {
      const b = encode(value(c));
      const seconds = dur(c);
      if (b === undefined || seconds <= 0) return undefined;
      await store.set(PREFIX + key(c), { meta: { status: 0, headers: {}, requestTime: 0, responseTime: 0, initialAgeSec: 0, lifetimeSec: seconds }, body: b }, seconds * 1000);
      return undefined;
    };
  },
});

registerPolicy({
  name: 'cache-lookup-value', sections: ALL, attributes: ['key', 'variable-name', 'default-value', 'caching-type'], required: ['key', 'variable-name'],
  compile(el, ctx) {
    const store = cacheOf(el, ctx);
    const key = strAttr(el, 'key', ctx)!;
    const name = literalAttr(el, 'variable-name')!;
    const def = strAttr(el, 'default-value', ctx);
    return async (c) => {
      const hit = await store.get(PREFIX + key(c));
      const v = hit === undefined ? undefined : decode(hit.body);
      if (v !== undefined) c.ex.setVar(name, v);
      else if (def !== undefined) c.ex.setVar(name, def(c));
      return undefined;
    };
  },
});

registerPolicy({
  name: 'cache-remove-value', sections: ALL, attributes: ['key', 'caching-type'], required: ['key'],
  compile(el, ctx) {
    const store = cacheOf(el, ctx);
    const key = strAttr(el, 'key', ctx)!;
    return async (c) => { await store.delete(PREFIX + key(c)); return undefined; };
  },
});

interface HeaderSpec { name: string; action: string; values: Get<string>[] }

const SEND_CHILDREN = ['set-url', 'set-method', 'set-header', 'set-body', 'authentication-basic', 'authentication-certificate', 'authentication-managed-identity', 'proxy'];

registerPolicy({
  name: 'send-request', sections: ALL, attributes: ['mode', 'response-variable-name', 'timeout', 'ignore-error'], required: ['response-variable-name'],
  children: SEND_CHILDREN,
  compile(el, ctx) { return sendRequest(el, ctx, false); },
});

/** send-one-way-request: sent without waiting; a failure is logged, the request goes on. */
registerPolicy({
  name: 'send-one-way-request', sections: ALL, attributes: ['mode', 'timeout'], children: SEND_CHILDREN,
  compile(el, ctx) { return sendRequest(el, ctx, true); },
});

function sendRequest(el: XmlElement, ctx: XCompile, oneWay: boolean): XStep {
  {
    const mode = literalAttr(el, 'mode') ?? 'new';
    const varName = literalAttr(el, 'response-variable-name') ?? '';
    const timeout = intAttr(el, 'timeout', ctx, 60, 1)!;
    const ignore = boolAttr(el, 'ignore-error', ctx, false);
    let url: Get<string> | undefined;
    let method: Get<string> = () => 'GET';
    let body: Get<string> | undefined;
    const headers: HeaderSpec[] = [];
    for (const c of childElements(el)) {
      if (c.name === 'set-url') url = contentOf(c, ctx);
      else if (c.name === 'set-method') method = contentOf(c, ctx) ?? method;
      else if (c.name === 'set-body') body = contentOf(c, ctx);
      else if (c.name === 'set-header') {
        headers.push({ name: literalAttr(c, 'name')!.toLowerCase(), action: literalAttr(c, 'exists-action') ?? 'override', values: childElements(c).map((v) => contentOf(v, ctx) ?? (() => '')) });
      } else if (c.name === 'authentication-basic') {
        const u = strAttr(c, 'username', ctx) ?? (() => '');
        const p = strAttr(c, 'password', ctx) ?? (() => '');
        headers.push({ name: 'authorization', action: 'override', values: [(x) => `Basic ${Buffer.from(`${u(x)}:${p(x)}`).toString('base64')}`] });
      } else if (c.name === 'authentication-managed-identity' || c.name === 'authentication-certificate') {
        throw loadError('cloud-only-policy', `<${c.name}> needs a cloud service of API Management that Gatehouse does not have`, c.pos);
      }
    }
    if (url === undefined && mode !== 'copy') throw loadError('unsupported-attribute', '<send-request> needs <set-url>', el.pos);
    const resolve = backendsForUrls(ctx.policy);
    const cap = ctx.policy.gateway.maxBodyBuffer;
    const send = async (c: ExchangeContext): Promise<undefined> => {
      const target = url?.(c) ?? `${c.ex.protocol}://localhost${c.ex.path}`;
      const h: Record<string, string | string[]> = mode === 'copy' ? { ...c.ex.upstreamHeaders } : {};
      for (const s of headers) {
        if (s.action === 'delete') { delete h[s.name]; continue; }
        if (s.action === 'skip' && h[s.name] !== undefined) continue;
        const v = s.values.map((g) => g(c));
        if (v.some((x) => /[\0\r\n]/.test(x))) throw new PolicyRunError('InvalidHeaderValue', `the value of header ${s.name} contains a line break or NUL`);
        h[s.name] = v.length === 1 ? v[0]! : v;
      }
      const payload = body?.(c);
      const m = method(c).trim().toUpperCase();
      const ms = timeout(c) * 1000;
      try {
        const { backend, path } = resolve(target);
        h.host = new URL(target).host;
        if (payload !== undefined) h['content-length'] = String(Buffer.byteLength(payload));
        const r = await backend.dispatcher.request({ path: path === '' ? '/' : path.startsWith('?') ? '/' + path : path, method: m as 'GET', headers: h as Record<string, string>, body: payload ?? null, headersTimeout: ms, bodyTimeout: ms, signal: c.ex.signal });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of r.body) {
          size += (chunk as Buffer).length;
          if (size > cap) { r.body.destroy(); throw new PolicyRunError('ResponseTooLarge', `the response of send-request is larger than ${cap} bytes`); }
          chunks.push(chunk as Buffer);
        }
        const rh = new MemoryMap<readonly string[]>([], true);
        for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) rh.set(k, Array.isArray(v) ? v : [String(v)]);
        const res: ApimResponse = { StatusCode: r.statusCode, StatusReason: '', Headers: rh, Body: new MemoryBody(new Uint8Array(Buffer.concat(chunks))) };
        if (!oneWay) c.ex.setVar(varName, res);
      } catch (err) {
        if (oneWay || ignore(c)) { if (!oneWay) c.ex.setVar(varName, null); return undefined; }
        if (err instanceof PolicyRunError) throw err;
        throw new PolicyRunError('SendRequestFailed', `send-request to ${new URL(target).origin} failed: ${(err as Error).message}`);
      }
      return undefined;
    };
    if (!oneWay) return send;
    const logger = ctx.policy.logger;
    return (c) => {
      send(c).catch((err: unknown) => logger.warn({ requestId: c.ex.requestId, err: (err as Error).message }, 'send-one-way-request failed'));
      return undefined;
    };
  }
}
