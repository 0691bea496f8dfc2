import type { Config } from '../schema.js';
import { ALGORITHMS } from '../../gateway/jwt/algorithms.js';
import { inboundAuthenticates, isLoopback, policies, publicBinds, remoteHttp, strings, type Path } from './walk.js';

/**
 * The audit rules: each looks at a validated config and reports findings at config paths. Every
 * rule is documented in docs/audit.md (id, severity, why, fix); a test checks that the two agree.
 */

export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  rule: string;
  severity: Severity;
  path: Path;
  message: string;
}

export interface Rule {
  id: string;
  severity: Severity;
  /** one line: what it flags */
  title: string;
  /** what to do */
  fix: string;
  check(cfg: Config): Iterable<{ path: Path; message: string }>;
}

/**
 * Secrets published with the quickstart (examples/quickstart, README): anyone can read them, so a
 * config that reaches the network with one of them is open.
 */
export const DEMO_SECRETS: readonly string[] = ['quickstart-billing-secret'];

const jwtPolicies = (cfg: Config) => [...policies(cfg)].filter((p) => p.name === 'validate-jwt');

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string]);

function secretBytes(b64: string): number {
  return Buffer.from(b64.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').length;
}

export const RULES: readonly Rule[] = [
  {
    id: 'jwt-audience-unchecked',
    severity: 'high',
    title: 'validate-jwt without audiences',
    fix: 'list the audiences this API accepts (the `aud` its tokens are issued for) under `audiences`',
    *check(cfg) {
      for (const p of jwtPolicies(cfg)) {
        if (list(p.config.audiences).length === 0) yield { path: [...p.path, 'audiences'], message: 'validate-jwt has no audiences: a token the issuer made for any other API or client is accepted here' };
      }
    },
  },
  {
    id: 'jwt-issuer-unchecked',
    severity: 'medium',
    title: 'validate-jwt with configured keys and no issuers',
    fix: 'list the accepted issuers under `issuers` (with `openid-config` the discovery document names the issuer)',
    *check(cfg) {
      for (const p of jwtPolicies(cfg)) {
        if (p.config['openid-config'] === undefined && list(p.config.issuers).length === 0) {
          yield { path: [...p.path, 'issuers'], message: 'validate-jwt checks no issuer: any issuer holding one of these keys is accepted' };
        }
      }
    },
  },
  {
    id: 'jwt-unsigned-accepted',
    severity: 'high',
    title: 'validate-jwt accepting unsigned tokens',
    fix: 'remove `require-signed-tokens: false`',
    *check(cfg) {
      for (const p of jwtPolicies(cfg)) {
        if (p.config['require-signed-tokens'] === false) yield { path: [...p.path, 'require-signed-tokens'], message: 'unsigned tokens (alg none) are accepted: anyone can write one' };
      }
    },
  },
  {
    id: 'jwt-expiry-optional',
    severity: 'medium',
    title: 'validate-jwt accepting tokens without exp',
    fix: 'remove `require-expiration-time: false`; have the issuer set exp',
    *check(cfg) {
      for (const p of jwtPolicies(cfg)) {
        if (p.config['require-expiration-time'] === false) yield { path: [...p.path, 'require-expiration-time'], message: 'tokens without exp are accepted: a leaked token works forever' };
      }
    },
  },
  {
    id: 'jwt-hmac-secret-short',
    severity: 'high',
    title: 'HMAC secret shorter than its algorithm\'s size',
    fix: 'use a random secret of at least 32 bytes for HS256, 48 for HS384, 64 for HS512 (RFC 7518 §3.2), base64 encoded',
    *check(cfg) {
      for (const p of jwtPolicies(cfg)) {
        const algs = list(p.config.algorithms).filter((a) => a.startsWith('HS'));
        for (const [i, k] of ((p.config['issuer-signing-keys'] ?? []) as Array<{ secret?: string; alg?: string }>).entries()) {
          if (k.secret === undefined) continue;
          const bytes = secretBytes(k.secret);
          const wanted = [k.alg ?? 'HS256', ...algs].filter((a) => a.startsWith('HS'));
          const need = Math.max(...wanted.map((a) => ALGORITHMS[a]?.minSecret ?? 32));
          if (bytes < need) yield { path: [...p.path, 'issuer-signing-keys', i, 'secret'], message: `the secret is ${bytes} bytes; ${wanted.find((a) => (ALGORITHMS[a]?.minSecret ?? 32) === need)} needs at least ${need}: a short secret can be brute-forced offline from one token` };
        }
      }
    },
  },
  {
    id: 'backend-tls-unverified',
    severity: 'high',
    title: 'backend TLS certificate not verified',
    fix: 'remove `tls.insecure-skip-verify`; give the backend\'s CA with `tls.ca` instead',
    *check(cfg) {
      for (const [name, b] of Object.entries(cfg.backends)) {
        if (b.tls?.['insecure-skip-verify']) yield { path: ['backends', name, 'tls', 'insecure-skip-verify'], message: `backend ${name}: its certificate is not verified, so anyone on the path can impersonate it and read the requests (tokens included)` };
      }
    },
  },
  {
    id: 'trusted-proxies-any',
    severity: 'high',
    title: 'X-Forwarded-For trusted from any address',
    fix: 'list only the addresses of your own load balancers or proxies under `trusted-proxies`',
    *check(cfg) {
      const scan = (values: readonly string[], at: Path) => values.flatMap((v, i) => (/\/0$/.test(v.trim()) ? [{ path: [...at, i], message: `trusted-proxies ${v} trusts every address: any client can claim any IP in X-Forwarded-For and pass ip-filter or spread its rate limits` }] : []));
      if (cfg.gateway) yield* scan(cfg.gateway['trusted-proxies'], ['gateway', 'trusted-proxies']);
      if (cfg.identity) yield* scan(cfg.identity['trusted-proxies'], ['identity', 'trusted-proxies']);
    },
  },
  {
    id: 'demo-secret-public-bind',
    severity: 'high',
    title: 'a public listener with the quickstart\'s published secrets',
    fix: 'set your own secrets (`${ENV:NAME}`), or bind the listeners to 127.0.0.1',
    *check(cfg) {
      const binds = publicBinds(cfg);
      if (binds.length === 0) return;
      for (const s of strings(cfg)) {
        if (DEMO_SECRETS.includes(s.value)) yield { path: s.path, message: `this is a secret published with the quickstart, and ${binds[0]!.host} (${binds.map((b) => b.path.join('.')).join(', ')}) is reachable from the network` };
      }
    },
  },
  {
    id: 'api-unauthenticated',
    severity: 'high',
    title: 'an API without an authentication policy, not marked public',
    fix: 'add validate-jwt, validate-client-certificate or check-header with values (a key) to the API, its operations or the global scope; or mark an API that is meant to be open with `public: true`',
    *check(cfg) {
      const global = inboundAuthenticates(cfg.policies?.inbound, false);
      for (const [i, api] of cfg.apis.entries()) {
        if (api.public) continue;
        const apiLevel = inboundAuthenticates(api.policies?.inbound, global);
        const ops = api.operations ?? [];
        const open = ops.flatMap((op, j) => (inboundAuthenticates(op.policies?.inbound, apiLevel) ? [] : [{ op, j }]));
        if (!apiLevel && (api.openapi !== undefined || ops.length === 0)) {
          yield { path: ['apis', i, 'name'], message: `API ${api.name} has no authentication policy${ops.length ? ' for the operations that do not list their own' : ''}: anyone can call it` };
        } else {
          for (const { op, j } of open) yield { path: ['apis', i, 'operations', j, 'id'], message: `operation ${op.id} of API ${api.name} has no authentication policy: anyone can call it` };
        }
      }
    },
  },
  {
    id: 'rate-limit-client-key',
    severity: 'medium',
    title: 'a rate limit or quota keyed on what the client sends',
    fix: 'key counters on who the caller is: `{jwt.sub}`, `{jwt.azp}`, a client certificate, or `{request.ip}` behind correctly set trusted-proxies',
    *check(cfg) {
      for (const p of policies(cfg)) {
        if (p.name !== 'rate-limit-by-key' && p.name !== 'quota-by-key') continue;
        const key = p.config['counter-key'];
        if (typeof key === 'string' && /\{request\.(header|query)\./i.test(key)) {
          yield { path: [...p.path, 'counter-key'], message: `${p.name} counts by ${key}, which the client chooses: a new value per request gets a fresh counter` };
        }
      }
    },
  },
  {
    id: 'cors-any-origin-credentials',
    severity: 'high',
    title: 'CORS allowing any origin with credentials',
    fix: 'list the exact origins of your web apps under `allowed-origins`',
    *check(cfg) {
      for (const p of policies(cfg)) {
        if (p.name === 'cors' && list(p.config['allowed-origins']).includes('*') && p.config['allow-credentials'] === true) {
          yield { path: [...p.path, 'allow-credentials'], message: 'cors allows "*" origins with credentials: any web site could call the API with its visitors\' cookies' };
        }
      }
    },
  },
  {
    id: 'issuer-plain-http',
    severity: 'high',
    title: 'an identity provider over plain http on a non-loopback host',
    fix: 'use an https:// issuer and discovery URL (plain http is for 127.0.0.1 only)',
    *check(cfg) {
      if (cfg.identity && remoteHttp(cfg.identity.issuer)) yield { path: ['identity', 'issuer'], message: `issuer ${cfg.identity.issuer} is plain http on a network host: passwords, codes and tokens cross the network unencrypted` };
      for (const p of jwtPolicies(cfg)) {
        const urls = list(p.config['openid-config']);
        for (const [i, u] of urls.entries()) {
          if (remoteHttp(u)) yield { path: Array.isArray(p.config['openid-config']) ? [...p.path, 'openid-config', i] : [...p.path, 'openid-config'], message: `keys are fetched over plain http from ${new URL(u).host}: anyone on the path can substitute their own keys` };
        }
      }
    },
  },
  {
    id: 'password-grant-public-client',
    severity: 'medium',
    title: 'the password grant enabled for a public client',
    fix: 'use the authorization code flow with PKCE for apps users run; keep the password grant for trusted first-party tools, or remove it',
    *check(cfg) {
      for (const [i, c] of (cfg.identity?.clients ?? []).entries()) {
        if (c.public && c['grant-types'].includes('password')) yield { path: ['identity', 'clients', i, 'grant-types'], message: `client ${c['client-id']} is public and may use the password grant: anyone can use its id to try passwords, and users type their password into the app` };
      }
    },
  },
  {
    id: 'admin-public',
    severity: 'high',
    title: 'the admin listener on a public address',
    fix: 'bind the admin listener to 127.0.0.1 (the default) or a private address only your monitoring reaches',
    *check(cfg) {
      const l = cfg.gateway?.admin?.listen;
      if (l !== undefined && typeof l === 'object' && l.host !== undefined && !isLoopback(l.host)) {
        yield { path: ['gateway', 'admin', 'listen', 'host'], message: `the admin listener binds ${l.host}: its configuration, routes and metrics are reachable from the network` };
      }
    },
  },
];

/** Run every rule; findings ordered by rule, then path. */
export function audit(cfg: Config): Finding[] {
  const out: Finding[] = [];
  for (const r of RULES) for (const f of r.check(cfg)) out.push({ rule: r.id, severity: r.severity, ...f });
  return out;
}
