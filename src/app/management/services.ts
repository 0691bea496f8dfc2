import type { Logger } from 'pino';
import type { Db } from '../../identity/db.js';
import { createOutbox, type Outbox } from '../../identity/email.js';
import { KeyStore, masterKey } from '../../identity/keys.js';
import type { IdentityConfig } from '../../identity/schema.js';
import { AuditLog } from '../../identity/subscriptions/audit.js';
import type { LoadedGatehouseConfig } from '../config.js';
import { openSubscriptionsDb } from '../subscriptions.js';
import { ManagementProblem } from './http.js';

/**
 * What the management API's resources share: the identity database (opened on first use, and
 * again after a failure), the audit log on it, the identity section (for keys and mail), and the
 * views of the running gateway (backends, routes, configuration, recent errors).
 */

/** What the running gateway shows (of this process, or asked of the workers). */
export interface GatewayViews {
  backends?(): unknown | Promise<unknown>;
  routes?(): unknown | Promise<unknown>;
  /** the effective configuration, secrets redacted: `{ file, config }` */
  config?(): unknown | Promise<unknown>;
  /** the recent error responses, newest first */
  errors?(): unknown[] | Promise<unknown[]>;
}

export class ManagementServices {
  private db: Promise<Db> | undefined;
  private outbox: Promise<Outbox> | undefined;

  constructor(
    readonly loaded: LoadedGatehouseConfig,
    private readonly url: string,
    readonly logger: Logger,
    readonly views: GatewayViews,
    /** tells the gateways that subscriptions changed (Redis pub/sub), besides the database */
    readonly onSubscriptionWrite?: () => void,
  ) {}

  /** the identity section, when the file has one */
  get identity(): IdentityConfig | undefined { return this.loaded.config.identity; }

  database(): Promise<Db> {
    this.db ??= openSubscriptionsDb(this.loaded, this.url).catch((err: unknown) => { this.db = undefined; throw err; });
    return this.db;
  }

  /** Append one audit entry: who did what to which object, and the object before and after (never a secret). */
  async audit(actor: string, action: string, target: { type: string; id: string }, before: unknown, after: unknown): Promise<void> {
    await new AuditLog(await this.database()).append({ actor, action, target, before, after });
  }

  /** the identity section, or a 409 naming what needs it */
  needIdentity(what: string): IdentityConfig {
    const id = this.identity;
    if (!id) throw new ManagementProblem('management-conflict', `${what} needs the identity section in this configuration file.`);
    return id;
  }

  async keys(): Promise<KeyStore> {
    const cfg = this.needIdentity('Managing signing keys');
    const db = await this.database();
    return new KeyStore(db, masterKey(cfg, db), cfg);
  }

  /** the identity provider's mail, or undefined when it only writes links to the log */
  mail(): Promise<Outbox> | undefined {
    const cfg = this.identity;
    if (!cfg || cfg.email.transport === 'log') return undefined;
    this.outbox ??= createOutbox(cfg.email, this.logger.child({ component: 'management-mail' }));
    return this.outbox;
  }

  async close(): Promise<void> {
    const [d, o] = await Promise.all([this.db?.catch(() => undefined), this.outbox?.catch(() => undefined)]);
    await o?.close();
    await d?.close();
  }
}
