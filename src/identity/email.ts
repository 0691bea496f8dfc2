import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';

export interface Mail { to: string; subject: string; text: string; link: string; kind: 'verify-email' | 'reset-password' | 'account-exists' | 'sign-up-username-taken' }
export type Mailer = (m: Mail) => Promise<void>;

/** RFC 5322 `atext`, plus letters, marks and digits beyond ASCII (RFC 6532) */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\p{L}\\p{M}\\p{N}]+";
/** a DNS label: letters and digits (of any script), hyphens inside */
const LABEL = '[\\p{L}\\p{M}\\p{N}](?:[\\p{L}\\p{M}\\p{N}\\-]{0,61}[\\p{L}\\p{M}\\p{N}])?';
const ADDR_SPEC = new RegExp(`^${ATOM}(?:\\.${ATOM})*@${LABEL}(?:\\.${LABEL})+$`, 'u');

/**
 * The address as it is stored and mailed, or undefined when `input` is not a bare addr-spec.
 *
 * Only `local@domain` with a dot-atom local part and a domain name is accepted: no display name,
 * angle brackets, comments, quoted local parts, domain literals, lists or anything after the
 * address (`Bob <bob@x>`, `<bob@x>`, `a@b.c,x` are refused), so the mail transport has nothing to
 * interpret. It is normalized to NFC and lower case (one account per address, whatever its case).
 */
export function parseAddress(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const a = input.trim().normalize('NFC').toLowerCase();
  if (a.length > 254 || a.indexOf('@') > 64) return undefined;
  return ADDR_SPEC.test(a) ? a : undefined;
}

/**
 * Verification and reset mail: through SMTP (nodemailer) when `email.transport` is an smtp URL,
 * else the `log` transport, which writes the link to the log for development. A message goes
 * to exactly `m.to`, which must be a normalized bare address (the stored one); the log names the
 * address the transport actually sent to.
 */
export async function createMailer(cfg: IdentityConfig['email'], logger: Logger): Promise<Mailer> {
  const refuse = (m: Mail) => {
    if (parseAddress(m.to) === m.to) return false;
    logger.error({ mail: m.kind }, 'email not sent: the recipient is not a bare, normalized address');
    return true;
  };
  if (cfg.transport === 'log') {
    return async (m) => {
      if (refuse(m)) return;
      logger.info({ mail: m.kind, to: m.to, link: m.link }, `email (log transport): ${m.subject}`);
    };
  }
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport(cfg.transport);
  return async (m) => {
    if (refuse(m)) return;
    try {
      // an address object and an explicit envelope: nodemailer parses nothing out of the recipient
      const info = await transport.sendMail({ from: cfg.from, to: { name: '', address: m.to }, envelope: { from: fromAddress(cfg.from), to: [m.to] }, subject: m.subject, text: m.text });
      const sentTo = (info.envelope?.to ?? []) as string[];
      logger.info({ mail: m.kind, to: sentTo.length === 1 ? sentTo[0] : sentTo }, 'email sent');
    } catch (err) {
      logger.error({ mail: m.kind, to: m.to, err: (err as Error).message }, 'email could not be sent');
    }
  };
}

/** the bare address of `email.from` (`Name <addr>` or `addr`) for the SMTP envelope */
function fromAddress(from: string): string {
  return /<([^<>]+)>\s*$/.exec(from)?.[1]?.trim() ?? from.trim();
}
