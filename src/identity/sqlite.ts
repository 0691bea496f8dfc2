import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseBusy, type Db } from './db.js';

/**
 * The embedded SQLite store, on one of two drivers with the same synchronous shape:
 * - `node:sqlite` (built into Node.js 22.13 and later), used wherever it exists;
 * - better-sqlite3 on Node.js 20, which has no built-in SQLite (an optional dependency: npm
 *   installs it everywhere, and only Node 20 loads it). better-sqlite3 12 aborts the process on
 *   Node.js 24.19 and later when a statement is garbage-collected, so it must not be the driver
 *   there.
 * Both report a busy or locked database and constraint violations with the same `SQLITE_*` codes.
 */
interface Statement {
  all(params: unknown[]): unknown[];
  /** the first row, or undefined; a statement that returns no rows is run */
  one(params: unknown[]): unknown;
  /** rows changed */
  run(params: unknown[]): number;
}

interface Connection {
  readonly driver: 'node:sqlite' | 'better-sqlite3';
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}

/** SQLite's primary result codes that callers tell apart (the low byte of an extended code) */
const CODES: Record<number, string> = { 5: 'SQLITE_BUSY', 6: 'SQLITE_LOCKED', 19: 'SQLITE_CONSTRAINT' };

/** node:sqlite rows have a null prototype; callers get plain objects, as from the other drivers */
const plain = (row: unknown) => (row === undefined ? undefined : { ...(row as object) });

/** node:sqlite reports `code: ERR_SQLITE_ERROR` and the SQLite code as `errcode`: give it the SQLite name */
function sqliteCode<T>(op: () => T): T {
  try {
    return op();
  } catch (e) {
    const errcode = (e as { errcode?: unknown }).errcode;
    if (typeof errcode === 'number' && CODES[errcode & 0xff]) (e as { code?: string }).code = CODES[errcode & 0xff];
    throw e;
  }
}

async function nodeSqlite(): Promise<((file: string) => Connection) | undefined> {
  // Node 22 announces the module as experimental on import; that warning is not the operator's concern
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (!/SQLite is an experimental feature/.test(text)) (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  let mod: typeof import('node:sqlite');
  try {
    mod = await import('node:sqlite');
  } catch {
    return undefined; // Node 20, or 22 before 22.13 (behind a flag)
  } finally {
    process.emitWarning = emit;
  }
  return (file) => {
    const conn = new mod.DatabaseSync(file);
    return {
      driver: 'node:sqlite',
      exec: (sql) => sqliteCode(() => conn.exec(sql)),
      prepare(sql) {
        const st = conn.prepare(sql);
        return {
          all: (p) => sqliteCode(() => st.all(...(p as never[])).map(plain)),
          one: (p) => sqliteCode(() => plain(st.get(...(p as never[])))),
          run: (p) => sqliteCode(() => Number(st.run(...(p as never[])).changes)),
        };
      },
      close: () => conn.close(),
    };
  };
}

async function betterSqlite3(): Promise<(file: string) => Connection> {
  let Database: typeof import('better-sqlite3');
  try {
    ({ default: Database } = await import('better-sqlite3'));
  } catch {
    throw new Error(`SQLite needs Node.js 22.13 or later (its built-in node:sqlite), or on Node.js ${process.versions.node} the optional package better-sqlite3: run \`npm install better-sqlite3\`, or use PostgreSQL (identity.database: postgres://...)`);
  }
  return (file) => {
    const conn = new Database(file);
    return {
      driver: 'better-sqlite3',
      exec: (sql) => { conn.exec(sql); },
      prepare(sql) {
        const st = conn.prepare(sql);
        return {
          all: (p) => st.all(...p),
          // better-sqlite3 refuses get() on a statement that returns no data
          one: (p) => (st.reader ? st.get(...p) : (st.run(...p), undefined)),
          run: (p) => (st.reader ? (st.all(...p), 0) : st.run(...p).changes),
        };
      },
      close: () => { conn.close(); },
    };
  };
}

/**
 * Open the SQLite store. The drivers are synchronous: SQLite's own busy wait would stall the
 * whole process (the gateway too, when both run in one) while another process holds the write
 * lock. So SQLite waits at most a few milliseconds itself, and a statement that finds the
 * database busy is retried asynchronously with backoff (the event loop stays free) until
 * `busyMs`, then fails with DatabaseBusy.
 */
export async function openSqlite(file: string, busyMs: number): Promise<Db> {
  const open = (await nodeSqlite()) ?? (await betterSqlite3());
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true });
    ownerOnly(file);
  }
  const conn = open(file);
  conn.exec('PRAGMA busy_timeout = 2');
  const retry = async <T>(op: () => T): Promise<T> => {
    const deadline = Date.now() + busyMs;
    for (let delay = 4; ; delay = Math.min(delay * 2, 100)) {
      try {
        return op();
      } catch (e) {
        const code = String((e as { code?: unknown }).code ?? '');
        if (!code.startsWith('SQLITE_BUSY') && !code.startsWith('SQLITE_LOCKED')) throw e;
        if (Date.now() + delay > deadline) throw new DatabaseBusy();
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      }
    }
  };
  await retry(() => conn.exec('PRAGMA journal_mode = WAL'));
  conn.exec('PRAGMA synchronous = NORMAL');
  // `$n` placeholders become positional `?`, with the parameters reordered (and repeated) to match
  const cache = new Map<string, { st: Statement; order: number[] }>();
  const prep = (sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      const order: number[] = [];
      const st = conn.prepare(sql.replace(/\$(\d+)/g, (_m, n: string) => { order.push(Number(n) - 1); return '?'; }));
      s = { st, order };
      cache.set(sql, s);
    }
    return s;
  };
  const args = (s: { order: number[] }, params: unknown[] = []) => s.order.map((i) => {
    const p = params[i];
    return typeof p === 'boolean' ? (p ? 1 : 0) : p;
  });
  return {
    kind: 'sqlite',
    file,
    driver: conn.driver,
    async all<T>(sql: string, params?: unknown[]) {
      const s = prep(sql);
      return retry(() => s.st.all(args(s, params)) as T[]);
    },
    async one<T>(sql: string, params?: unknown[]) {
      const s = prep(sql);
      return retry(() => s.st.one(args(s, params)) as T | undefined);
    },
    async run(sql: string, params?: unknown[]) {
      const s = prep(sql);
      return retry(() => s.st.run(args(s, params)));
    },
    async exclusive<T>(fn: () => Promise<T>) { return fn(); },
    async close() { conn.close(); },
  };
}

/**
 * The database holds password hashes, grants and (encrypted) keys: the file is created 0600
 * before SQLite opens it (its -wal and -shm files take the same mode), and files left readable
 * by others from an older version are narrowed to their owner.
 */
function ownerOnly(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (!existsSync(f)) continue;
    try { chmodSync(f, 0o600); } catch { /* not ours to change: SQLite reports what it cannot open */ }
  }
}
