import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { haproxyPath, haproxyScenario, gatehouseChainYaml, checkChain } from './haproxy.js';
import { jwksServer } from './idp.js';
import { BASELINE, measure, measureSideBySide, startGatehouse, startNode, table, ROOT, type Proc, type Scenario } from './harness.js';

/**
 * `npm run bench [section...]` — sections: gateway, apim, haproxy, memory, capacity, jwt, throttle, validation, tracing, subscriptions, edge, tls, identity, federation, micro;
 * and, only when named, accounts (1,000,000 accounts in PostgreSQL: minutes).
 * Every ratio is measured within one run, on this machine, against a baseline measured in the
 * same run. `--write` also writes bench/RESULTS.md.
 *
 * CPU µs/req is the CPU time (user + system, from /proc) of the proxy process alone divided by
 * the requests it served, measured at a fixed request rate (see harness.ts `load`); the load
 * generator (autocannon) and the backend run in other processes.
 */

const args = process.argv.slice(2);
const write = args.includes('--write');
const wanted = args.filter((a) => !a.startsWith('--'));
const want = (s: string) => wanted.length === 0 || wanted.includes(s);
const out: string[] = [];
const say = (s: string) => { console.log(s); out.push(s); };

const dist = join(ROOT, 'dist', 'bench');

async function main() {
  const backend = await startNode([join(dist, 'backend.js')]);
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const procs: Proc[] = [backend];
  const noPolicyYaml = `gateway:\n  listen: { http: 0 }\nbackends:\n  b: { url: "${backendUrl}" }\napis:\n  - { name: bench, path: /, backend: b }\n`;
  say(`# Gatehouse benchmarks\n\nRun: ${new Date().toISOString().slice(0, 10)} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · Node ${process.version} · per scenario and round: ${process.env.BENCH_SECONDS ?? 5} s at a fixed rate (CPU, latency) after a saturated run (max req/s); ${process.env.BENCH_ROUNDS ?? 3} interleaved rounds, medians; 32 connections, autocannon\n`);
  try {
    const gwScenario = (name: string, yaml: string, load: Scenario['load'] & { path?: string } = {}, root?: string): Scenario => ({
      name: root === undefined ? name : `baseline: ${name}`,
      load,
      start: async () => {
        const g = await startGatehouse(yaml, {}, root);
        return { url: `http://127.0.0.1:${g.port}${load.path ?? '/orders/7'}`, pid: g.child.pid!, stop: g.stop };
      },
    });
    /** the scenario, and its baseline twin when BENCH_BASELINE is set */
    const withBaseline = (...args: [string, string, (Scenario['load'] & { path?: string })?]): Scenario[] =>
      BASELINE === undefined ? [gwScenario(...args)] : [gwScenario(...args), gwScenario(args[0], args[1], args[2], BASELINE)];
    const noPolicy = () => gwScenario('gatehouse, no policies', noPolicyYaml);

    if (want('gateway')) {
      const rows = await measure([
        { name: 'direct (no proxy)', start: async () => ({ url: `${backendUrl}/orders/7`, pid: backend.child.pid!, stop: async () => {} }) },
        {
          name: 'bare node:http + undici proxy',
          start: async () => {
            const bare = await startNode([join(dist, 'bare-proxy.js'), backendUrl]);
            return { url: `http://127.0.0.1:${bare.port}/orders/7`, pid: bare.child.pid!, stop: bare.stop };
          },
        },
        ...withBaseline('gatehouse, no policies', noPolicyYaml),
        ...withBaseline('gatehouse, no policies, access log off', noPolicyYaml.replace('gateway:\n', 'gateway:\n  log: { access: false }\n')),
      ]);
      say('## Gateway foundation (issue 2)\n');
      say('CPU per request of the proxy process. Target: Gatehouse with no policies ≤ 1.1× the bare proxy.\n');
      say(table(rows, 'bare node:http + undici proxy'));
      say('');
    }

    if (want('jwt')) {
      const idp = await jwksServer();
      try {
        const ipList = Array.from({ length: 999 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`).concat(['127.0.0.1']);
        const chain = (alg: string) => `gateway:\n  listen: { http: 0 }\nbackends:\n  b: { url: "${backendUrl}" }\napis:\n  - name: bench\n    path: /\n    backend: b\n    policies:\n      inbound:\n        - ip-filter: { action: allow, addresses: ${JSON.stringify(ipList)} }\n        - validate-jwt:\n            openid-config: "${idp.url}/${alg}/.well-known/openid-configuration"\n            audiences: [api://orders]\n            issuers: [https://idp.bench]\n        - check-claims:\n            required-claims: [{ name: scp, match: any, separator: " ", values: [orders.read] }]\n`;
        const tRs = await idp.token('RS256');
        const tEs = await idp.token('ES256');
        const many = await Promise.all(Array.from({ length: 10000 }, (_, i) => idp.token('RS256', `user-${i}`)));
        const noCache = chain('RS256').replace('audiences: [api://orders]', 'audiences: [api://orders]\n            token-cache: { max-entries: 0 }');
        const rows = await measure([
          noPolicy(),
          gwScenario('validate-jwt RS256 (cache hit) + check-claims + ip-filter 1,000', chain('RS256'), { headers: { authorization: `Bearer ${tRs}` } }),
          gwScenario('validate-jwt ES256 (cache hit) + check-claims + ip-filter 1,000', chain('ES256'), { headers: { authorization: `Bearer ${tEs}` } }),
          gwScenario('validate-jwt RS256, 10,000 distinct tokens, no cache (every request verifies)', noCache, { requests: many.map((t) => ({ method: 'GET', headers: { authorization: `Bearer ${t}` } })) }),
        ]);
        say('## Token validation (issue 3)\n');
        say('Target: the full chain on cache hits ≤ 1.1× the no-policy gateway.\n');
        say(table(rows, 'gatehouse, no policies'));
        say('');
      } finally {
        idp.close();
      }
    }

    if (want('haproxy')) await haproxySection(backendUrl, say);

    for (const [section, file, fn, title, target] of [
      ['throttle', 'throttle.js', 'throttleScenarios', 'Throttling (issue 4)', 'Targets: memory store ≤ 1.05×, Redis store ≤ 1.25× the no-policy gateway; p99 added ≤ 1 ms.'],
      ['validation', 'validation.js', 'validationScenarios', 'Request validation (issue 5)', 'Target: validate-content on a 1 KB body ≤ 1.15× the no-policy gateway with the same body.'],
    ] as const) {
      if (!want(section) || !existsSync(join(dist, file))) continue;
      const mod = await import(join(dist, file));
      if (typeof mod[fn] !== 'function') continue;
      const list = mod[fn](backendUrl) as Array<{ name: string; yaml: string; path?: string; body?: Buffer; contentType?: string; method?: string; headers?: Record<string, string> }>;
      const scenarios = [...withBaseline('gatehouse, no policies', noPolicyYaml), ...list.flatMap((sc) => {
        const headers = { ...sc.headers, ...(sc.contentType ? { 'content-type': sc.contentType } : {}) };
        return withBaseline(sc.name, sc.yaml, { path: sc.path, body: sc.body, method: sc.method ?? (sc.body ? 'POST' : 'GET'), headers });
      })];
      const rows = await measure(scenarios);
      say(`## ${title}\n`);
      say(`${target}\n`);
      say(table(rows, 'gatehouse, no policies', rows.find((r) => /1kb, no validation/.test(r.name))?.name));
      say('');
    }

    if (want('tracing')) {
      // a collector that accepts and discards: the cost measured is the gateway's alone
      const sink = createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); }); });
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
      const traced = (ratio: number) => `${noPolicyYaml}observability:\n  tracing:\n    endpoint: "http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces"\n    sampling: { ratio: ${ratio} }\n`;
      try {
        const rows = await measure([
          ...withBaseline('gatehouse, no policies', noPolicyYaml),
          gwScenario('tracing on, every request recorded (server + backend span)', traced(1)),
          gwScenario('tracing on, ratio 0 (ids, traceparent, nothing recorded)', traced(0)),
        ]);
        say('## Tracing (issue 17)\n');
        say('Tracing off must cost nothing (compare with BENCH_BASELINE=<a checkout of main>); on, what recording costs.\n');
        say(table(rows, 'gatehouse, no policies'));
        say('');
      } finally {
        sink.close();
      }
    }
    if (want('apim') && existsSync(join(dist, 'apim-policies.js'))) {
      const { apimScenarios, APIM_HEADERS } = await import(join(dist, 'apim-policies.js'));
      const s = apimScenarios(backendUrl);
      const rows = await measure([
        noPolicy(),
        gwScenario('YAML: 10 set-header with key templates', s.yaml, { headers: APIM_HEADERS }),
        gwScenario('XML: 10 set-header / choose / set-variable steps with expressions', s.xml, { headers: APIM_HEADERS }),
      ]);
      say('## API-management policy documents (issue 18)\n');
      say('CPU per request: a policy document of 10 steps with expressions against the same logic as YAML policies. Target: XML ≤ 1.2× YAML.\n');
      say(table(rows, 'YAML: 10 set-header with key templates'));
      say('');
      const { runApimPolicyMicro } = await import(join(dist, 'apim-policies.js'));
      say('The policies alone, in process (no network):\n');
      say(await runApimPolicyMicro());
      say('');
    }
    if (want('subscriptions') && existsSync(join(dist, 'subscriptions.js'))) {
      const { subscriptionScenario } = await import(join(dist, 'subscriptions.js'));
      const sc = await subscriptionScenario(backendUrl) as { name: string; yaml: string; headers: Record<string, string> };
      const rows = await measure([noPolicy(), gwScenario(sc.name, sc.yaml, { headers: sc.headers })]);
      say('## Subscription keys (issue 16)\n');
      say('Target: the key check on a cache hit ≤ 1.05× the no-policy gateway.\n');
      say(table(rows, 'gatehouse, no policies'));
      say('');
    }

    if (want('edge') && existsSync(join(dist, 'edge.js'))) {
      const { runEdgeBench } = await import(join(dist, 'edge.js'));
      say('## Edge: balancing and failover (issue 13)\n');
      say(await runEdgeBench());
      say('');
    }

    if (want('memory') && existsSync(join(dist, 'memory.js'))) {
      const { runMemoryBench } = await import(join(dist, 'memory.js'));
      say('## Memory (issue 19)\n');
      say(await runMemoryBench());
      say('');
    }

    if (want('capacity') && existsSync(join(dist, 'capacity.js'))) {
      const { runCapacityBench } = await import(join(dist, 'capacity.js'));
      say('## Latency and workers (issue 19)\n');
      say(await runCapacityBench());
      say('');
    }

    if (want('micro') && existsSync(join(dist, 'jwt-verify.js'))) {
      const { runJwtVerifyBench } = await import(join(dist, 'jwt-verify.js'));
      say('## JWT signature verification, in-process (issue 3)\n');
      say(await runJwtVerifyBench());
      say('');
    }
    if (want('micro') && existsSync(join(dist, 'json-scan.js'))) {
      const { runJsonScanBench } = await import(join(dist, 'json-scan.js'));
      say('## JSON duplicate-key/depth pre-scan, in-process (issue 5)\n');
      say(await runJsonScanBench());
      say('');
    }
    if (want('micro') && existsSync(join(dist, 'upstream.js'))) {
      const { runUpstreamBench } = await import(join(dist, 'upstream.js'));
      say('## Balancer pick, in-process (issue 13)\n');
      say(await runUpstreamBench());
      say('');
    }
    if (want('micro') && existsSync(join(dist, 'apim-expr.js'))) {
      const { runApimExprBench } = await import(join(dist, 'apim-expr.js'));
      say('## API-management policy expressions, in-process (issue 18)\n');
      say('A compiled C# expression against the same logic as a hand-written JS closure, on one in-memory context.\n');
      say(await runApimExprBench());
      say('');
    }
    if (want('tls') && existsSync(join(dist, 'tls.js'))) {
      const { runTlsBench } = await import(join(dist, 'tls.js'));
      say('## TLS (issue 6)\n');
      say(await runTlsBench());
      say('');
    }
    if (want('identity') && existsSync(join(dist, 'identity.js'))) {
      const { runIdentityBench } = await import(join(dist, 'identity.js'));
      say('## Identity provider (issue 7)\n');
      say(await runIdentityBench());
      say('');
    }
    // opt-in only (minutes of filling PostgreSQL): `npm run bench -- accounts`
    if (wanted.includes('accounts') && existsSync(join(dist, 'accounts.js'))) {
      const { runAccountsBench } = await import(join(dist, 'accounts.js'));
      say('## Millions of accounts (issue 15)\n');
      say(await runAccountsBench());
      say('');
    }
    if (want('federation') && existsSync(join(dist, 'federation.js'))) {
      const { runFederationBench } = await import(join(dist, 'federation.js'));
      say('## Federated sign-in (issue 14)\n');
      say(await runFederationBench());
      say('');
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
  if (write) writeFileSync(join(ROOT, 'bench', 'RESULTS.md'), out.join('\n') + '\n');
}

/** Gatehouse and HAProxy on the same chain, the bare Node proxy as floor (issue 19; bench/haproxy.ts). */
async function haproxySection(backendUrl: string, say: (s: string) => void): Promise<void> {
  say('## Against HAProxy, same security chain (issue 19)\n');
  const bin = haproxyPath();
  if (bin === undefined) {
    say('**SKIPPED: haproxy is not installed** (`apt-get install haproxy`); no comparison was measured.\n');
    console.error('bench haproxy: SKIPPED, haproxy not found on PATH');
    return;
  }
  const idp = await jwksServer();
  try {
    const token = await idp.token('RS256');
    const expired = await idp.token('RS256', 'bench-user', Math.floor(Date.now() / 1000) - 60);
    const chainYaml = gatehouseChainYaml(backendUrl, idp.url);
    const scenarios: Scenario[] = [
      {
        name: 'bare node:http + undici proxy',
        start: async () => {
          const bare = await startNode([join(dist, 'bare-proxy.js'), backendUrl]);
          return { url: `http://127.0.0.1:${bare.port}/orders/7`, pid: bare.child.pid!, stop: bare.stop };
        },
      },
      {
        // the floor of the Node stack as Gatehouse forwards today: node:http + undici `dispatch`
        name: 'bare node:http + undici dispatch proxy',
        start: async () => {
          const bare = await startNode([join(dist, 'bare-dispatch.js'), backendUrl]);
          return { url: `http://127.0.0.1:${bare.port}/orders/7`, pid: bare.child.pid!, stop: bare.stop };
        },
      },
      haproxyScenario(bin, backendUrl, idp.pem('RS256'), token),
      {
        name: 'gatehouse, same chain (validate-jwt RS256, token cache on)',
        load: { headers: { authorization: `Bearer ${token}` } },
        start: async () => {
          const g = await startGatehouse(chainYaml);
          const url = `http://127.0.0.1:${g.port}/orders/7`;
          const broken = await checkChain(url, { good: token, expired });
          if (broken !== undefined) { await g.stop(); throw new Error(`gatehouse chain not enforced: ${broken}`); }
          return { url, pid: g.child.pid!, stop: g.stop };
        },
      },
    ];
    if (BASELINE !== undefined) {
      scenarios.push({
        name: 'baseline: gatehouse, same chain',
        load: { headers: { authorization: `Bearer ${token}` } },
        start: async () => {
          const g = await startGatehouse(chainYaml, {}, BASELINE);
          return { url: `http://127.0.0.1:${g.port}/orders/7`, pid: g.child.pid!, stop: g.stop };
        },
      });
    }
    // the HAProxy chain is checked the same way before any measurement
    const hap = scenarios[2]!;
    const start = hap.start.bind(hap);
    hap.start = async () => {
      const h = await start();
      const broken = await checkChain(h.url, { good: token, expired });
      if (broken !== undefined) { await h.stop(); throw new Error(`haproxy chain not enforced: ${broken}`); }
      return h;
    };
    const rows = await measure(scenarios);
    say('Chain: ip-filter (1,000 networks), RS256 JWT with iss/aud/exp, rate per `sub`, one log line per request on stdout. Checked before measuring: a forged signature, an expired token and no token are refused by both. Target: Gatehouse ≤ 1.5× HAProxy\'s CPU per request.\n');
    say('One after the other (max req/s, latency at a fixed rate, CPU per request):\n');
    say(table(rows, rows[2]!.name, 'bare node:http + undici dispatch proxy'));
    say('');
    // the same processes side by side: the ratio that the machine's drift does not move
    const side = await measureSideBySide(scenarios.slice(1), 1);
    say(`Side by side (the three loaded at the same time, ${process.env.BENCH_PAIRED_RATE ?? 1000} req/s each, ${side[0]!.ratios.length} rounds; ratio = median of the per-round ratios):\n`);
    say('| scenario | CPU µs/req (median) | vs haproxy, per round | **vs haproxy** | errors/non-2xx |');
    say('|---|---:|---|---:|---:|');
    for (const r of side) say(`| ${r.name} | ${r.cpuUs.toFixed(1)} | ${r.ratios.map((x) => x.toFixed(2)).join(' ')} | **${r.ratio.toFixed(2)}×** | ${r.errors} |`);
    say('');
  } finally {
    idp.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
