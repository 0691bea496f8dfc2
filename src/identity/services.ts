import type { IdentityConfig } from './schema.js';
import { openDb, type Db } from './db.js';
import { UserStore } from './accounts.js';
import { KeyStore, masterKey } from './keys.js';

export interface IdentityServices {
  db: Db;
  users: UserStore;
  keys: KeyStore;
  master: Buffer;
}

/** Open the identity database (migrations run) and the services on it; used by the server and the CLI. */
export async function openIdentity(config: IdentityConfig, configDir: string): Promise<IdentityServices> {
  const db = await openDb(config.database, configDir, { busyTimeoutMs: config['database-busy-timeout'] * 1000 });
  try {
    const master = masterKey(config, db);
    const keys = new KeyStore(db, master, config);
    await keys.ensure();
    return { db, users: new UserStore(db), keys, master };
  } catch (e) {
    await db.close();
    throw e;
  }
}
