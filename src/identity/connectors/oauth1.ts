import type { Logger } from 'pino';
import type { ResolvedConnector } from '../federation/presets.js';
import { boundedText, identityFromClaims, profileObject } from './claims.js';
import type { ConnectorState, RedirectConnector, SignInResult } from './connector.js';
import { authorizationHeader, constantTimeEqual, type SigningKeys } from './oauth1-sign.js';

/**
 * OAuth 1.0a upstreams (RFC 5849 with the 1.0a `oauth_verifier`; X/Twitter-style): a request
 * token (signed with the consumer secret, carrying `oauth_callback`), the browser sent to the
 * authorization endpoint, the callback with `oauth_token` + `oauth_verifier`, the access token
 * (signed with the request-token secret), then a signed call to the profile endpoint and the
 * claims mapping.
 *
 * The request token and its secret are kept server-side with the sign-in's `state`, which is
 * bound to the browser that began (federation/index.ts). The callback names its sign-in by the
 * `state` we put in `oauth_callback`, and its `oauth_token` must be the request token of that
 * very sign-in: a token and verifier obtained in another sign-in (an attacker's, sent to a
 * victim: token secret confusion, a login CSRF) are refused before any call upstream.
 */

/** seconds any call to the upstream may take */
const UPSTREAM_TIMEOUT = 10;
/** an upstream's token answer is a short form: more is not one */
const TOKEN_ANSWER_LIMIT = 16 * 1024;

class UpstreamRefused extends Error {
  constructor(step: string, readonly status: number, readonly problem?: string) {
    super(`the upstream refused the ${step} request (${status}${problem ? `, ${problem}` : ''})`);
  }
}

/** a signed request to the upstream; its answer read within bounds */
async function signed(method: 'GET' | 'POST', url: URL, keys: SigningKeys, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method,
    headers: { authorization: authorizationHeader(method, url, keys, extra), accept: 'application/json, application/x-www-form-urlencoded' },
    redirect: 'manual',
    signal: AbortSignal.timeout(UPSTREAM_TIMEOUT * 1000),
  });
}

/** a token answer (RFC 5849 §2.1, §2.3): form-encoded `oauth_token` and `oauth_token_secret` */
async function tokenAnswer(step: string, res: Response): Promise<URLSearchParams> {
  const text = (await boundedText(res, TOKEN_ANSWER_LIMIT)) ?? '';
  const form = new URLSearchParams(text);
  if (!res.ok) throw new UpstreamRefused(step, res.status, form.get('oauth_problem')?.slice(0, 100) ?? undefined);
  if (!form.get('oauth_token') || !form.has('oauth_token_secret')) throw new Error(`the ${step} answer has no oauth_token and oauth_token_secret`);
  return form;
}

function why(err: unknown): { message: string; status?: number; problem?: string } {
  const e = err as UpstreamRefused;
  return { message: String(e.message ?? err).slice(0, 300), status: e.status, problem: e.problem };
}

export function oauth1Connector(c: ResolvedConnector, logger: Logger): RedirectConnector {
  const consumer: SigningKeys = { consumerKey: c.clientId, consumerSecret: c.clientSecret ?? '' };

  async function begin({ callback, state }: { callback: string; state: string }) {
    // the callback carries our state: the upstream appends oauth_token and oauth_verifier to it
    const back = new URL(callback);
    back.searchParams.set('state', state);
    let form: URLSearchParams;
    try {
      form = await tokenAnswer('request-token', await signed('POST', new URL(c.requestTokenEndpoint!), consumer, { oauth_callback: back.href }));
    } catch (err) {
      logger.warn({ connector: c.id, ...why(err) }, 'upstream request token refused');
      throw new Error(`connector ${c.id}: no request token from the upstream`, { cause: err });
    }
    // RFC 5849 §2.1: a server that did not take our callback (OAuth 1.0 without the "a") would
    // send the browser elsewhere, without a verifier
    if (form.get('oauth_callback_confirmed') !== 'true') throw new Error(`connector ${c.id}: the upstream did not confirm the callback (oauth_callback_confirmed)`);
    const token = form.get('oauth_token')!;
    const authorize = new URL(c.authorizationEndpoint!);
    authorize.searchParams.set('oauth_token', token);
    const kept: ConnectorState = { token, secret: form.get('oauth_token_secret')! };
    return { handoff: { redirect: authorize.href }, state: kept };
  }

  async function complete({ params, state }: { params: URLSearchParams; state: ConnectorState }): Promise<SignInResult> {
    // X answers a refusal with `denied=<token>`; RFC 5849 names none
    if (params.has('denied') || params.has('error')) {
      logger.info({ connector: c.id }, 'upstream refused the sign-in');
      return { ok: false, reason: 'upstream-denied' };
    }
    const token = params.get('oauth_token') ?? '';
    const verifier = params.get('oauth_verifier') ?? '';
    const refuse = (reason: string) => {
      logger.warn({ connector: c.id, reason }, 'upstream answer refused');
      return { ok: false, reason: 'invalid-response' } as const;
    };
    if (!state.token || !state.secret) return refuse('no request token kept');
    // token secret confusion: the answer must name the request token of this very sign-in
    if (!constantTimeEqual(token, state.token)) return refuse('oauth_token is not the request token of this sign-in');
    if (!verifier || verifier.length > 200) return refuse('no oauth_verifier');
    let claims: Record<string, unknown>;
    try {
      const access = await tokenAnswer('access-token', await signed('POST', new URL(c.tokenEndpoint!), { ...consumer, token: state.token, tokenSecret: state.secret }, { oauth_verifier: verifier }));
      const user: SigningKeys = { ...consumer, token: access.get('oauth_token')!, tokenSecret: access.get('oauth_token_secret')! };
      const res = await signed('GET', new URL(c.userinfoEndpoint!), user);
      if (!res.ok) throw new UpstreamRefused('profile', res.status);
      claims = await profileObject(res);
    } catch (err) {
      logger.warn({ connector: c.id, ...why(err) }, 'upstream answer refused');
      return { ok: false, reason: 'invalid-response' };
    }
    const identity = identityFromClaims(c, claims, ['fed']);
    if (!identity) return refuse(`the profile has no ${c.claims.subject}`);
    return { ok: true, identity };
  }

  return { id: c.id, type: 'oauth1', flow: 'redirect', displayName: c.displayName, begin, complete };
}
