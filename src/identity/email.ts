import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';

export interface Mail { to: string; subject: string; text: string; link: string; kind: 'verify-email' | 'reset-password' | 'account-exists' | 'sign-up-username-taken' }
export type Mailer = (m: Mail) => Promise<void>;

/**
 * Verification and reset mail: through SMTP (nodemailer) when `email.transport` is an smtp URL,
 * else the `log` transport, which writes the link to the log for development.
 */
export async function createMailer(cfg: IdentityConfig['email'], logger: Logger): Promise<Mailer> {
  if (cfg.transport === 'log') {
    return async (m) => {
      logger.info({ mail: m.kind, to: m.to, link: m.link }, `email (log transport): ${m.subject}`);
    };
  }
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport(cfg.transport);
  return async (m) => {
    try {
      await transport.sendMail({ from: cfg.from, to: m.to, subject: m.subject, text: m.text });
      logger.info({ mail: m.kind, to: m.to }, 'email sent');
    } catch (err) {
      logger.error({ mail: m.kind, to: m.to, err: (err as Error).message }, 'email could not be sent');
    }
  };
}
