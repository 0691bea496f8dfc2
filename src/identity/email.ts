import type { Logger } from 'pino';
import type { IdentityConfig } from './schema.js';

export interface Mail {
  to: string; subject: string; text: string; link: string; kind: 'verify-email' | 'reset-password' | 'account-exists' | 'sign-up-username-taken' | 'mfa-code';
  /** a one-time code the mail carries (the log transport logs it, as it logs links) */
  code?: string;
}

/** A message, or work that runs in the background first (look-ups, link tokens) and yields one or none. */
export type Outgoing = Mail | (() => Promise<Mail | undefined>);

/**
 * Mail leaves the request path: `post` queues and returns at once, so a page answers the same
 * whether or not it mails (the reset form does not reveal which addresses have accounts by its
 * timing). `close` stops taking mail and delivers what is queued, within a bound.
 */
export interface Outbox {
  post(m: Outgoing): void;
  close(): Promise<void>;
}

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

/** delivers one message and returns the envelope recipients the transport used; throws on failure */
type Deliver = (m: Mail) => Promise<string[]>;

export interface OutboxOptions {
  /** whether a mail to this address may go now (the per-address mail limit); false drops it */
  admit?: (to: string) => Promise<boolean>;
  /** retry delays in ms, one per retry (default 1 s, 2 s, 4 s, 8 s, 16 s) */
  retryDelays?: number[];
  /** how long `close` waits for the queue to drain (default 10 s) */
  drainMs?: number;
}

/** deliveries at once: a slow relay holds at most this many connections */
const WORKERS = 2;

/**
 * Verification and reset mail through SMTP (nodemailer) when `email.transport` is an smtp URL,
 * else the `log` transport, which writes the link to the log for development.
 *
 * A bounded queue (`email.queue-size`, counting queued, in-flight and waiting-to-retry mail): over
 * it a mail is dropped and logged, never waited for. A failed delivery is retried with backoff.
 * A message goes to exactly `m.to`, which must be a normalized bare address (the stored one); the
 * log names the address the transport actually sent to.
 */
export async function createOutbox(cfg: IdentityConfig['email'], logger: Logger, opts: OutboxOptions = {}): Promise<Outbox> {
  const deliver = await transport(cfg, logger);
  const retryDelays = opts.retryDelays ?? [1000, 2000, 4000, 8000, 16000];
  const queue: Array<{ item: Outgoing; attempt: number }> = [];
  const waiting = new Map<NodeJS.Timeout, { item: Mail; attempt: number }>();
  let busy = 0;
  let closing = false;
  let idle: (() => void) | undefined;
  const pending = () => queue.length + waiting.size + busy;

  const run = async (job: { item: Outgoing; attempt: number }) => {
    let mail: Mail | undefined;
    try {
      mail = typeof job.item === 'function' ? await job.item() : job.item;
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'email not sent: preparing it failed');
      return;
    }
    if (!mail) return;
    if (parseAddress(mail.to) !== mail.to) {
      logger.error({ mail: mail.kind }, 'email not sent: the recipient is not a bare, normalized address');
      return;
    }
    if (job.attempt === 0 && opts.admit && !(await opts.admit(mail.to))) {
      logger.warn({ audit: 'mail.limited', mail: mail.kind }, 'email not sent: too many mails to this address in the period');
      return;
    }
    try {
      const sentTo = await deliver(mail);
      logger.info({ mail: mail.kind, to: sentTo.length === 1 ? sentTo[0] : sentTo, ...(cfg.transport === 'log' ? { link: mail.link, ...(mail.code ? { code: mail.code } : {}) } : {}) },
        cfg.transport === 'log' ? `email (log transport): ${mail.subject}` : 'email sent');
    } catch (err) {
      const delay = retryDelays[job.attempt];
      if (delay === undefined) {
        logger.error({ mail: mail.kind, to: mail.to, err: (err as Error).message, attempts: job.attempt + 1 }, 'email could not be sent: giving up');
        return;
      }
      logger.warn({ mail: mail.kind, to: mail.to, err: (err as Error).message, attempt: job.attempt + 1 }, `email could not be sent: will retry in ${delay} ms`);
      const next = { item: mail, attempt: job.attempt + 1 };
      const timer = setTimeout(() => { waiting.delete(timer); queue.push(next); pump(); }, closing ? 0 : delay);
      waiting.set(timer, next);
    }
  };

  const pump = () => {
    while (busy < WORKERS && queue.length) {
      const job = queue.shift()!;
      busy++;
      void run(job).finally(() => { busy--; pump(); });
    }
    if (pending() === 0) idle?.();
  };

  return {
    post(item) {
      if (closing) { logger.error({}, 'email dropped: the identity provider is stopping'); return; }
      if (pending() >= cfg['queue-size']) {
        logger.error({ mail: typeof item === 'function' ? undefined : item.kind }, 'email dropped: the mail queue is full');
        return;
      }
      queue.push({ item, attempt: 0 });
      pump();
    },
    async close() {
      closing = true;
      // retries waiting for their backoff go now
      for (const [timer, job] of waiting) { clearTimeout(timer); waiting.delete(timer); queue.push(job); }
      pump();
      if (pending() === 0) return;
      const drained = new Promise<void>((r) => { idle = r; });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), opts.drainMs ?? 10_000); });
      if (await Promise.race([drained, late]) === 'late') logger.error({ pending: pending() }, 'email dropped: the mail queue did not drain before shutdown');
      clearTimeout(timer);
      for (const [t] of waiting) clearTimeout(t);
    },
  };
}

/** the delivery function of `email.transport` */
async function transport(cfg: IdentityConfig['email'], logger: Logger): Promise<Deliver> {
  if (cfg.transport === 'log') return async (m) => [m.to];
  const { default: nodemailer } = await import('nodemailer');
  const smtp = nodemailer.createTransport(cfg.transport);
  const from = fromAddress(cfg.from);
  logger.debug({ transport: 'smtp' }, 'mail transport ready');
  return async (m) => {
    // an address object and an explicit envelope: nodemailer parses nothing out of the recipient
    const info = await smtp.sendMail({ from: cfg.from, to: { name: '', address: m.to }, envelope: { from, to: [m.to] }, subject: m.subject, text: m.text });
    return (info.envelope?.to ?? []) as string[];
  };
}

/** the bare address of `email.from` (`Name <addr>` or `addr`) for the SMTP envelope */
function fromAddress(from: string): string {
  return /<([^<>]+)>\s*$/.exec(from)?.[1]?.trim() ?? from.trim();
}
