import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { freePort, FAST_HASH } from '../identity/helpers.js';

/**
 * The gateway of the federation browser tests: the identity provider published at /auth, and
 * /orders behind validate-jwt that admits tokens of the given connectors (`idp` claim), with the
 * caller forwarded. `federation` is the YAML of `identity.federation`'s entries (indented 4).
 */
export interface FederatedGatewayOptions {
  gwPort: number;
  backendUrl: string;
  callback: string;
  connectors: string[];
  federation: string;
  /** environment of the gateway process (secrets the YAML names as ${ENV:...}) */
  env?: Record<string, string>;
}

function config(o: FederatedGatewayOptions, idPort: number): string {
  const issuer = `http://127.0.0.1:${o.gwPort}/auth`;
  return `
gateway:
  listen: { http: ${o.gwPort} }
backends:
  orders: { url: "${o.backendUrl}" }
  identity: { url: "http://127.0.0.1:${idPort}/auth" }
apis:
  - { name: identity, path: /auth, backend: identity }
  - name: orders
    path: /orders
    backend: orders
    policies:
      inbound:
        - validate-jwt:
            openid-config: ${issuer}/.well-known/openid-configuration
            audiences: ["api://orders"]
            required-claims:
              - { name: idp, match: any, values: [${o.connectors.join(', ')}] }
            forward-claims: { sub: X-User-Id, idp: X-User-Idp }
identity:
  listen: { http: ${idPort} }
  issuer: ${issuer}
  database: sqlite:./identity.db
  apis:
    - { audience: "api://orders", scopes: [orders.read] }
  clients:
    - { client-id: orders-spa, public: true, grant-types: [authorization_code], redirect-uris: ["${o.callback}"], scopes: [orders.read] }
  passwords: { hash: { memory-cost: ${FAST_HASH['memory-cost']}, time-cost: 1 } }
  federation:
${o.federation}`;
}

/**
 * Start it. The identity listener's port is picked before the gateway starts, so another test may
 * take it in between: then it is tried again with another port (at most three times).
 */
export async function startFederatedGateway(o: FederatedGatewayOptions): Promise<RunningGateway> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGateway(config(o, await freePort()), { waitFor: ['http', 'identity'], env: o.env });
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('identity.listen.http')) throw err;
    }
  }
}
