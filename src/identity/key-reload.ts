import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KeyStore, LoadedKeys } from './keys.js';
import type { OidcProvider } from './provider/oidc.js';

export interface CurrentProvider {
  /** the provider built for the keys in use */
  provider(): OidcProvider;
  /** its request handler */
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  close(): void;
}

/**
 * The provider for the current signing and cookie keys, rebuilt and swapped in when they change:
 * a rotation made by `gatehouse keys rotate` or by another process is picked up by polling the
 * database every `pollSeconds`, and a scheduled change (a key that starts signing, retires or is
 * unpublished) at its time.
 */
export async function providerForKeys(keys: KeyStore, build: (k: LoadedKeys) => Promise<OidcProvider>, logger: Logger, pollSeconds: number): Promise<CurrentProvider> {
  let loaded = await keys.load();
  let provider = await build(loaded);
  let callback = provider.callback();

  let polling = false;
  let changeTimer: NodeJS.Timeout | undefined;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const next = await keys.load();
      if (next.version !== loaded.version) {
        const p = await build(next);
        provider = p;
        callback = p.callback();
        loaded = next;
        logger.info({ active_kid: next.activeKid, published: next.jwks.map((k) => k.kid) }, 'signing keys reloaded');
      }
      scheduleChange();
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'could not reload signing keys');
    } finally {
      polling = false;
    }
  };
  const scheduleChange = () => {
    clearTimeout(changeTimer);
    if (loaded.nextChange !== undefined) {
      const ms = Math.min(Math.max(loaded.nextChange - Date.now() + 50, 50), 2 ** 31 - 1);
      changeTimer = setTimeout(poll, ms);
      changeTimer.unref();
    }
  };
  scheduleChange();
  const pollTimer = setInterval(poll, pollSeconds * 1000);
  pollTimer.unref();

  return {
    provider: () => provider,
    callback: () => callback,
    close() {
      clearInterval(pollTimer);
      clearTimeout(changeTimer);
    },
  };
}
