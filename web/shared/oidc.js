// Sign-in with the authorization code flow and PKCE (RFC 7636) for a public client. The tokens
// are kept in sessionStorage (this tab only, gone when it closes); the page's CSP allows scripts
// from this origin only, which is what keeps them from other scripts.

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));

export function decodeJwt(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return {};
  }
}

export async function createAuth({ issuer, clientId, scope, key }) {
  const redirectUri = location.origin + location.pathname;
  let discovery;
  const endpoints = async () => {
    discovery ??= fetch(`${issuer}/.well-known/openid-configuration`).then((r) => {
      if (!r.ok) throw new Error(`The identity provider did not answer (${r.status}).`);
      return r.json();
    });
    return discovery;
  };
  const stored = () => JSON.parse(sessionStorage.getItem(key) ?? 'null');

  return {
    /** the access token while it is valid, else undefined */
    token() {
      const s = stored();
      return s && s.expiresAt > Date.now() ? s.accessToken : undefined;
    },
    claims() {
      const t = this.token();
      return t ? decodeJwt(t) : undefined;
    },
    async signIn() {
      const d = await endpoints();
      const verifier = random();
      const state = random();
      const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
      sessionStorage.setItem(`${key}:pkce`, JSON.stringify({ verifier, state, back: location.hash }));
      const u = new URL(d.authorization_endpoint);
      u.search = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state, code_challenge: challenge, code_challenge_method: 'S256' }).toString();
      location.assign(u.href);
    },
    /** on return from the provider: trade the code for tokens; the hash to go back to */
    async callback() {
      const q = new URLSearchParams(location.search);
      if (!q.has('code') && !q.has('error')) return undefined;
      const pending = JSON.parse(sessionStorage.getItem(`${key}:pkce`) ?? 'null');
      sessionStorage.removeItem(`${key}:pkce`);
      history.replaceState(null, '', location.pathname + (pending?.back ?? ''));
      if (q.has('error')) throw new Error(`Sign-in did not complete: ${q.get('error_description') ?? q.get('error')}`);
      if (!pending || pending.state !== q.get('state')) throw new Error('Sign-in did not complete: the answer does not belong to this tab. Sign in again.');
      const d = await endpoints();
      const res = await fetch(d.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectUri, client_id: clientId, code_verifier: pending.verifier }),
      });
      const t = await res.json();
      if (!res.ok) throw new Error(`Sign-in did not complete: ${t.error_description ?? t.error ?? res.status}`);
      sessionStorage.setItem(key, JSON.stringify({ accessToken: t.access_token, expiresAt: Date.now() + (t.expires_in ?? 300) * 1000 - 10_000 }));
      return pending.back ?? '';
    },
    signOut() {
      sessionStorage.removeItem(key);
    },
  };
}
