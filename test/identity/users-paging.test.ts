import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openDb, type Db } from '../../src/identity/db.js';
import { UserStore, prefixEnd, type User } from '../../src/identity/accounts.js';
import { CLI } from '../helpers/gateway.js';
import { POSTGRES_ADMIN, postgresAvailable } from '../helpers/services.js';

const run = promisify(execFile);
const KEY = 'test-encryption-key-0123456789abcdef';

/**
 * Accounts whose names put LIKE's wildcards and near misses side by side: `a_1` and `ab1` (`_`),
 * `p%q@…` and `pxq@…` (`%`), an account matching by username and by email (listed once), an
 * account with an email address only, and a run of 23 `u-NN` accounts to page through.
 */
const ACCOUNTS: Array<{ username?: string; email?: string }> = [
  { username: 'a_1' }, { username: 'ab1' }, { username: 'a_2', email: 'a_2@example.com' },
  { email: 'p%q@example.com' }, { email: 'pxq@example.com' }, { username: 'pat', email: 'Pat.Smith@Example.com' },
  { username: 'zoë' },
  ...Array.from({ length: 23 }, (_, i) => ({ username: `u-${String(i).padStart(2, '0')}`, email: i % 3 === 0 ? `u-${i}@example.org` : undefined })),
];

/** every page of a listing, following the cursor; each page at most `limit` */
async function allPages(users: UserStore, search: string | undefined, limit: number): Promise<User[]> {
  const out: User[] = [];
  let after: string | undefined;
  for (let n = 0; n < 100; n++) {
    const page = await users.page({ search, after, limit });
    assert.ok(page.items.length <= limit);
    out.push(...page.items);
    if (page.next === undefined) return out;
    after = page.next;
  }
  throw new Error('the cursor never ended');
}

const names = (us: User[]) => us.map((u) => u.username ?? u.email);

function suite(kind: 'sqlite' | 'postgres', available: boolean): void {
  describe(`users list paging and prefix search (${kind})`, { skip: !available }, () => {
    const dir = mkdtempSync(join(tmpdir(), `gatehouse-paging-${kind}-`));
    const dbName = `gatehouse_paging_${process.pid}_${Date.now()}`;
    const url = kind === 'sqlite' ? 'sqlite:./identity.db' : `postgres://postgres@127.0.0.1:5432/${dbName}`;
    const config = join(dir, 'gatehouse.yaml');
    let db: Db;
    let users: UserStore;
    const ids = new Map<string, string>();

    before(async () => {
      if (kind === 'postgres') {
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${dbName}`);
        await admin.end();
      }
      writeFileSync(config, `identity:\n  issuer: http://127.0.0.1:9/auth\n  database: ${url}\n  keys: { encryption-key: "${KEY}" }\n`);
      db = await openDb(url, dir);
      users = new UserStore(db);
      for (const a of ACCOUNTS) ids.set(a.username ?? a.email!.toLowerCase(), (await users.create(a)).id);
    });
    after(async () => {
      await db?.close();
      if (kind === 'postgres') {
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      }
      rmSync(dir, { recursive: true, force: true });
    });

    test('without search: every account once, in id order, whatever the page size', async () => {
      const want = [...ids.values()].sort();
      for (const limit of [1, 4, ACCOUNTS.length, 100]) {
        const got = (await allPages(users, undefined, limit)).map((u) => u.id);
        assert.deepEqual(got, want, `limit ${limit}`);
      }
    });

    test('prefix search: in name order, no duplicates or gaps across pages, wildcards literal', async () => {
      const us = (await allPages(users, 'u-', 4)).map((u) => u.username);
      assert.deepEqual(us, Array.from({ length: 23 }, (_, i) => `u-${String(i).padStart(2, '0')}`), 'an account matching by username and by email once');
      assert.deepEqual(names(await allPages(users, 'a_', 1)), ['a_1', 'a_2'], '_ is not "any character" (ab1 stays out); a_2 once');
      assert.deepEqual(names(await allPages(users, 'p%', 1)), ['p%q@example.com'], '% is not "anything"');
      assert.deepEqual(names(await allPages(users, '%', 5)), []);
      assert.deepEqual(names(await allPages(users, 'PAT.s', 5)), ['pat'], 'case-insensitive, by email');
      assert.deepEqual(names(await allPages(users, 'ZO', 5)), ['zoë'], 'non-ASCII names');
      assert.deepEqual(names(await allPages(users, 'zoë', 5)), ['zoë']);
      assert.deepEqual(names(await allPages(users, 'nobody', 5)), []);
      // a cursor from another search does not reach outside this one
      assert.deepEqual(names((await users.page({ search: 'p', after: 'a_9', limit: 10 })).items), ['p%q@example.com', 'pat', 'pxq@example.com'], 'in byte order');
      assert.deepEqual((await users.page({ search: 'p', after: 'zz', limit: 10 })).items, []);
      assert.equal(prefixEnd('ab'), 'ac');
      assert.equal(prefixEnd('a\u{10FFFF}'), 'b');
    });

    test('the CLI: one page with --limit, the cursor on stderr, the next with --after', async () => {
      const first = await run(process.execPath, [CLI, 'users', 'list', '--config', config, '--json', '--search', 'U-', '--limit', '20']);
      const page1 = first.stdout.trim().split('\n').map((l) => JSON.parse(l).username as string);
      assert.equal(page1.length, 20);
      const cursor = /more: --after (".*")/.exec(first.stderr)?.[1];
      assert.ok(cursor, first.stderr);
      const second = await run(process.execPath, [CLI, 'users', 'list', '--config', config, '--json', '--search', 'U-', '--limit', '20', '--after', JSON.parse(cursor)]);
      const page2 = second.stdout.trim().split('\n').map((l) => JSON.parse(l).username as string);
      assert.deepEqual([...page1, ...page2], Array.from({ length: 23 }, (_, i) => `u-${String(i).padStart(2, '0')}`));
      assert.doesNotMatch(second.stderr, /more:/);
      const all = await run(process.execPath, [CLI, 'users', 'list', '--config', config]);
      assert.equal(all.stdout.trim().split('\n').length, ACCOUNTS.length, 'without --limit: every account');
    });
  });
}

suite('sqlite', true);
suite('postgres', await postgresAvailable('the users paging PostgreSQL tests'));
