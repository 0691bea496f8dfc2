import type { Logger } from 'pino';
import type { OidcContext, OidcProvider } from './oidc.js';

/** Audit lines of token issuance, refusals and revoked grants (never a token value), and the token counter. */
export function auditEvents(provider: OidcProvider, logger: Logger, onTokenIssued?: (grantType: string) => void): void {
  provider.on('grant.success', (ctx: OidcContext) => {
    onTokenIssued?.(String(ctx.oidc.params?.grant_type ?? ''));
    logger.info({ audit: 'token.issued', grant_type: ctx.oidc.params?.grant_type, client_id: ctx.oidc.client?.clientId, sub: ctx.oidc.entities?.Account?.accountId, ip: ctx.ip }, 'token issued');
  });
  provider.on('grant.error', (ctx: OidcContext, err: { error?: string } | undefined) => {
    logger.info({ audit: 'token.refused', grant_type: ctx.oidc.params?.grant_type, client_id: ctx.oidc.client?.clientId, error: err?.error, ip: ctx.ip }, 'token request refused');
  });
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => logger.info({ audit: 'grant.revoked', grant: grantId }, 'grant revoked'));
  provider.on('server_error', (_ctx: unknown, err: Error) => logger.error({ err: err.message, stack: err.stack }, 'identity provider error'));
}
