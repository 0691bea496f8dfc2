import { randomBytes } from 'node:crypto';
import { startSupervisedGateway, type SupervisedGateway } from './supervised.js';
import { startDelayProxy, startSlowIdp, type DelayProxy, type SlowIdp, type SelfSigned } from './slow-services.js';
import { sleep, startServer, watchBackend } from './raw.js';
import { getOnce } from './bounded.js';
import { token, type TestKey } from '../gateway/jwt/helpers.js';

/**
 * Everything one run of the abort matrix needs, on its own ports: a gatehouse process with an
 * API per policy that awaits, two OpenID providers that can answer slowly, a delaying proxy in
 * front of Redis, and a backend that records what reaches it (including requests whose body
 * never ended) and can answer late or slowly (`mode=delay`, `mode=stream`, `mode=noread`).
 * The process is started again when a case killed it, and the case is remembered.
 */

export const HOST = 'gw.test';
export const AUD = 'api://abort';
/** how long a slow dependency takes to answer (the abort comes long before) */
export const SLOW_MS = 1200;
/** how long a stage may take to be reached, a response to come, the process to answer */
export const BOUND_MS = 10_000;

const OPENAPI = `openapi: 3.1.0
info: { title: abort matrix, version: "1" }
paths:
  /items:
    post:
      operationId: postItems
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [items]
              properties:
                items:
                  type: array
                  items:
                    type: object
                    required: [id, name]
                    properties: { id: { type: integer }, name: { type: string } }
      responses:
        "200": { description: ok }
`;

export interface RigKeys { known: TestKey; stranger: TestKey }

export interface Rig {
  gw: SupervisedGateway;
  seen: ReturnType<typeof watchBackend>;
  jwksIdp: SlowIdp;
  discoIdp: SlowIdp;
  /** undefined when Redis is not running here (outside CI only) */
  redis: DelayProxy | undefined;
  /** the cases after which the process had to be started again */
  restarts: string[];
  /** start the process again if it died; `next` is the case about to run */
  ensureRunning(next: string): Promise<void>;
  /** a token for a key the provider publishes, for a key rotation the gateway has not seen yet */
  rotatedKeyToken(idp: SlowIdp, id: string): string;
  close(): Promise<void>;
}

/** A JSON document valid for the content API, at least `bytes` long. */
export function jsonBody(bytes: number): Buffer {
  const parts: string[] = [];
  let n = 12;
  for (let i = 0; n < bytes; i++) {
    const item = `{"id":${i},"name":"item-${i}-${'x'.repeat(24)}"}`;
    parts.push(item);
    n += item.length + 1;
  }
  return Buffer.from(`{"items":[${parts.join(',')}]}`);
}

export async function startRig(cert: SelfSigned, keys: RigKeys, useRedis: boolean): Promise<Rig> {
  const run = randomBytes(4).toString('hex');
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => { const t = setTimeout(() => { timers.delete(t); fn(); }, ms); timers.add(t); };
  const backend = await startServer((req, res) => {
    const mode = new URL(req.url ?? '/', 'http://b').searchParams.get('mode');
    if (mode === 'noread') {
      // never reads the upload: the gateway's upstream stalls, and so does the client
      req.pause();
      later(30_000, () => { if (!res.destroyed) res.end('late'); });
      return;
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('error', () => {});
    req.on('end', () => {
      if (mode === 'delay') { later(3 * SLOW_MS, () => { if (!res.destroyed) res.end('late'); }); return; }
      if (mode === 'stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const tick = () => {
          if (res.destroyed) return;
          res.write(`chunk ${i}\n`);
          if (++i >= 50) { res.end(); return; }
          later(100, tick);
        };
        tick();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ bytes }));
    });
  });
  const seen = watchBackend(backend.server);
  const jwksIdp = await startSlowIdp([keys.known]);
  const discoIdp = await startSlowIdp([keys.known]);
  const redis = useRedis ? await startDelayProxy(6379) : undefined;

  const redisApis = redis ? `
  - name: ratelimit
    path: /ratelimit
    backend: main
    policies:
      inbound:
        - rate-limit-by-key: { calls: 1000000, renewal-period: 60, counter-key: "{request.ip}" }
  - name: quota
    path: /quota
    backend: main
    policies:
      inbound:
        - quota-by-key: { calls: 1000000, renewal-period: 3600, counter-key: "{request.ip}" }` : '';
  const yaml = `
gateway:
  listen:
    host: 127.0.0.1
    http: 0
    https: { port: 0, certificates: [{ cert: "${cert.cert}", key: "${cert.key}" }] }
  admin: { listen: 0 }
${redis ? `  store: "redis://127.0.0.1:${redis.port}?prefix=gh-abort-${run}:&timeout=5s&max-wait=20s"\n` : ''}  limits:
    header-timeout: 10s
    request-timeout: 60s
    max-body-buffer: 4mb
  log: { level: info, access: true }
backends:
  main: { url: "${backend.url}", timeout: 30s }
apis:
  - name: plain
    path: /plain
    backend: main
  - name: jwks
    path: /jwks
    backend: main
    policies:
      inbound:
        - validate-jwt: { openid-config: "${jwksIdp.discoveryUrl}", audiences: ["${AUD}"], keys-refresh-cooldown: 0s, keys-fetch-timeout: 10s }
  - name: discovery
    path: /discovery
    backend: main
    policies:
      inbound:
        - validate-jwt: { openid-config: "${discoIdp.discoveryUrl}", audiences: ["${AUD}"], keys-refresh-cooldown: 0s, keys-fetch-timeout: 10s }
  - name: content
    path: /content
    backend: main
    openapi: ./content.yaml
    policies:
      inbound:
        - validate-content: { max-size: 2mb }
${redisApis}
`;

  /** start gatehouse with fast dependencies, wait until every policy is ready, then slow them down */
  const startGw = async (): Promise<SupervisedGateway> => {
    jwksIdp.jwksDelayMs = 0;
    discoIdp.discoveryDelayMs = 0;
    if (redis) redis.delayMs = 0;
    const gw = await startSupervisedGateway(yaml, { files: { 'content.yaml': OPENAPI }, waitFor: ['http', 'https', 'admin'] });
    try {
      const end = Date.now() + BOUND_MS * 2;
      const warm: Array<[string, SlowIdp]> = [['/jwks/warm', jwksIdp], ['/discovery/warm', discoIdp], ...(redis ? [['/ratelimit/warm', jwksIdp], ['/quota/warm', jwksIdp]] as Array<[string, SlowIdp]> : [])];
      for (const [p, idp] of warm) {
        for (;;) {
          const auth = { authorization: `Bearer ${token(keys.known, { iss: idp.issuer, aud: AUD })}` };
          const r = await getOnce(`${gw.url}${p}`, BOUND_MS, auth).catch(() => ({ status: 0 }));
          if (r.status === 200) break;
          if (Date.now() > end) throw new Error(`the gateway never served ${p} (last status ${r.status}); ${gw.describe()}`);
          await sleep(100);
        }
      }
    } catch (err) {
      await gw.stop();
      throw err;
    }
    jwksIdp.jwksDelayMs = SLOW_MS;
    discoIdp.discoveryDelayMs = SLOW_MS;
    if (redis) redis.delayMs = SLOW_MS;
    return gw;
  };

  const closeServices = async () => {
    for (const t of timers) clearTimeout(t);
    await backend.close();
    await jwksIdp.close();
    await discoIdp.close();
    await redis?.close();
  };
  let first: SupervisedGateway;
  try {
    first = await startGw();
  } catch (err) {
    await closeServices();
    throw err;
  }
  let lastCase = '(start-up)';
  const rig: Rig = {
    gw: first,
    seen, jwksIdp, discoIdp, redis,
    restarts: [],
    async ensureRunning(next) {
      const blame = lastCase;
      lastCase = next;
      if (rig.gw.alive()) return;
      rig.restarts.push(blame);
      await rig.gw.stop();
      rig.gw = await startGw();
    },
    rotatedKeyToken(idp, id) {
      const kid = `rotated-${id}`;
      const key: TestKey = { ...keys.stranger, kid, jwk: { ...keys.stranger.jwk, kid } };
      idp.keys.push(key);
      return token(key, { iss: idp.issuer, aud: AUD });
    },
    async close() {
      await rig.gw.stop();
      await closeServices();
    },
  };
  return rig;
}
