import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * An OTLP/HTTP trace receiver for tests: a node:http server that accepts `POST /v1/traces` in the
 * JSON encoding of OTLP (what @opentelemetry/exporter-trace-otlp-http sends), decodes every span
 * with its resource and scope, and answers 200. `mode` makes it a dead end: `hang` never
 * answers, `fail` answers 503.
 */

export type AttrValue = string | number | boolean | AttrValue[] | undefined;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client */
  kind: number;
  attributes: Record<string, AttrValue>;
  /** OTLP status code: 0 unset, 1 ok, 2 error */
  status: { code: number; message?: string };
  resource: Record<string, AttrValue>;
  scope: string;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** export requests received (in every mode) */
  posts: number;
  contentTypes: Set<string>;
  /** the headers of each export request */
  headers: IncomingHttpHeaders[];
  mode: 'ok' | 'hang' | 'fail';
  server: Server;
  /** the spans of one trace */
  trace(traceId: string): ReceivedSpan[];
  close(): Promise<void>;
}

interface OtlpKeyValue { key: string; value?: OtlpAnyValue }
interface OtlpAnyValue { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: OtlpAnyValue[] } }

function decodeValue(v: OtlpAnyValue | undefined): AttrValue {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}

function decodeAttributes(list: OtlpKeyValue[] | undefined): Record<string, AttrValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, decodeValue(kv.value)]));
}

/** Decode an OTLP JSON ExportTraceServiceRequest into flat spans. */
export function decodeTraces(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const req = body as { resourceSpans?: Array<{ resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ scope?: { name?: string }; spans?: Array<Record<string, unknown>> }> }> };
  for (const rs of req.resourceSpans ?? []) {
    const resource = decodeAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: String(s.traceId),
          spanId: String(s.spanId),
          parentSpanId: typeof s.parentSpanId === 'string' ? s.parentSpanId : '',
          name: String(s.name),
          kind: Number(s.kind),
          attributes: decodeAttributes(s.attributes as OtlpKeyValue[] | undefined),
          status: { code: Number((s.status as { code?: number } | undefined)?.code ?? 0), message: (s.status as { message?: string } | undefined)?.message },
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const rx = { spans: [] as ReceivedSpan[], posts: 0, contentTypes: new Set<string>(), headers: [] as IncomingHttpHeaders[], mode: 'ok' } as OtlpReceiver;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      rx.posts++;
      if (rx.mode === 'hang') return;
      if (rx.mode === 'fail') { res.writeHead(503); res.end(); return; }
      if (req.method !== 'POST' || req.url !== '/v1/traces') { res.writeHead(404); res.end(); return; }
      rx.contentTypes.add(String(req.headers['content-type']));
      rx.headers.push(req.headers);
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      rx.spans.push(...decodeTraces(JSON.parse(raw.toString('utf8'))));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  rx.server = server;
  rx.url = `http://127.0.0.1:${port}/v1/traces`;
  rx.trace = (traceId) => rx.spans.filter((s) => s.traceId === traceId);
  rx.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return rx;
}
