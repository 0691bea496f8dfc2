import pg from 'pg';

/** PostgreSQL as the machine runs it for tests (trust auth). */
export const POSTGRES_ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Whether PostgreSQL answers on 127.0.0.1:5432. When it does not, the suite that asked is skipped
 * with a loud message — except with CI=true, where a missing service is a failure.
 */
export async function postgresAvailable(suite: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 (CI=true: this is a failure)');
    console.error(`\n!!! PostgreSQL is not reachable on 127.0.0.1:5432: SKIPPING ${suite} !!!\n`);
    return false;
  }
}
