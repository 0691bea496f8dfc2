import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: pino JSON on stdout. The level comes from config, overridden by
 * GATEHOUSE_LOG_LEVEL. Authorization, cookies and tokens are never logged: `redact` guards them
 * (the access log is written by access-log.ts, which lists its fields explicitly).
 */
export function createLogger(level?: string, opts: { sync?: boolean } = {}): Logger {
  const sync = opts.sync ?? true;
  const dest = pino.destination({ dest: 1, sync, minLength: sync ? 0 : 4096 });
  // a buffered destination is flushed at least twice a second
  if (!sync) setInterval(() => dest.flush(), 500).unref();
  return pino(
    {
      level: process.env.GATEHOUSE_LOG_LEVEL || level || 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', '*.password', '*.token', '*.client_secret'],
        censor: '[redacted]',
      },
    },
    dest,
  );
}
