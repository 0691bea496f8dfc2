import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

/** what the rig uses of oidc-provider's context (the package ships no types) */
interface GrantCtx {
  oidc: {
    provider: { Grant: new (o: { clientId: string; accountId: string }) => { addOIDCScope(s: string): void; save(): Promise<unknown> } };
    client: { clientId: string };
    session: { accountId: string };
    params: Record<string, unknown>;
  };
}

/**
 * A bare oidc-provider as the upstream OpenID provider, for what Gatehouse's own provider does not
 * offer its clients: here clients that must authenticate with `private_key_jwt` (RFC 7523) and
 * nothing else. Its interaction signs in `pat` at once (no page); everything else is
 * oidc-provider's, by the spec (PKCE, state, nonce, client assertion checks: signature by the
 * registered key, `aud`, `exp`, one-time `jti`).
 */
export async function startBareProvider(clients: Array<Record<string, unknown>>) {
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const server = createServer((req, res) => {
    const m = /^\/interaction\/([\w-]+)$/.exec(req.url ?? '');
    if (m) {
      provider.interactionFinished(req, res, { login: { accountId: 'pat' } }, { mergeWithLastSubmission: false })
        .catch(() => { res.statusCode = 400; res.end(); });
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // (the server answers only after this is set: requests come once the issuer is known)
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({ id_token_signed_response_alg: 'ES256', ...c })),
    clientAuthMethods: ['private_key_jwt'],
    jwks: { keys: [{ ...signing, kid: 'op-1', alg: 'ES256', use: 'sig' }] },
    cookies: { keys: ['bare-provider-cookie-key-0123456789'] },
    features: { devInteractions: { enabled: false } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub, email: `${sub}@example.org`, email_verified: true }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // no consent page: the requested scopes are granted
    async loadExistingGrant(ctx: GrantCtx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(String(ctx.oidc.params.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
    async renderError(ctx: { type: string; body: string }, out: Record<string, string>) { ctx.type = 'text/plain'; ctx.body = `${out.error}: ${out.error_description}`; },
  });
  const errors: string[] = [];
  provider.on('grant.error', (_ctx: unknown, err: Error & { error_description?: string }) => errors.push(`${err.message}: ${err.error_description ?? ''}`));

  /** follow the upstream's redirects from the authorization URL (with its cookies) until it sends the browser back */
  async function signIn(authorizeUrl: string): Promise<URL> {
    const jar = new Map<string, string>();
    let url = new URL(authorizeUrl);
    for (let i = 0; i < 6; i++) {
      const r = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const c of r.headers.getSetCookie()) { const [kv] = c.split(';'); const at = kv!.indexOf('='); jar.set(kv!.slice(0, at), kv!.slice(at + 1)); }
      const loc = r.headers.get('location');
      if (!loc) throw new Error(`the upstream answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
      url = new URL(loc, url);
      if (url.origin !== issuer) return url;
    }
    throw new Error('the upstream redirected too often');
  }

  return { issuer, errors, signIn, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
