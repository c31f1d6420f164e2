// Database tests run on both dialects the server supports: each describe block gets a fresh
// database of its own, opened before its tests and closed and dropped after them.
import { QueryTypes, type Transaction } from 'sequelize';
import { openDatabase, type Database } from '../../db';
import { freshMysqlDatabase, freshSqliteDatabase, type TestDatabase } from './services';

export interface OpenTestDatabase {
  readonly db: Database;
  readonly url: string;
}

/**
 * describe.each over MariaDB (ops/runtests' server, a database named after `prefix`) and SQLite;
 * `title` takes the dialect's name for `%s`. `body` declares the tests on the open database.
 */
export function describeOnBothDialects(
  title: string,
  prefix: string,
  body: (open: OpenTestDatabase) => void,
  options: { migrate?: boolean } = {},
): void {
  const dialects: [string, () => Promise<TestDatabase>][] = [
    ['MariaDB', () => freshMysqlDatabase(prefix)],
    ['SQLite', async () => freshSqliteDatabase()],
  ];
  describe.each(dialects)(title, (_name, fresh) => {
    let target: TestDatabase | undefined;
    let db: Database | undefined;
    beforeAll(async () => {
      target = await fresh();
      db = await openDatabase(target.url, options);
    });
    afterAll(async () => {
      await db?.close();
      await target?.drop();
    });
    body({
      get db() {
        if (!db) throw new Error('the test database is not open yet');
        return db;
      },
      get url() {
        return target!.url;
      },
    });
  });
}

export interface HeldRows {
  /** Ends the holding transaction. */
  release(): void;
  /** The transaction's outcome (it rejects when the database goes away under it). */
  done: Promise<void>;
}

/**
 * Locks the rows `selectForUpdate` (a SELECT … FOR UPDATE) selects, in a transaction of the
 * test's own, so that an activity writing them blocks inside its own transaction; resolves
 * once they are held, and keeps them until `release`.
 */
export async function holdRows(db: Database, selectForUpdate: string, replacements: Record<string, unknown> = {}): Promise<HeldRows> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const isHolding = new Promise<void>((resolve) => (holding = resolve));
  const done = db.sequelize.transaction(async (transaction: Transaction) => {
    await db.sequelize.query(selectForUpdate, { replacements, type: QueryTypes.SELECT, transaction });
    holding();
    await held;
  });
  await Promise.race([isHolding, done]);
  return { release, done };
}
