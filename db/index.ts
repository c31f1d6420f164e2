// The database: one Sequelize connection per process, from a URL. MySQL/MariaDB (mysql2)
// in production and tests; SQLite (a file under var/) for the embedded default site.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sequelize, type Options } from 'sequelize';
import { defineModels, type Models } from './models';
import { migrate } from './migrate';
import { redact } from '../config';

export type Dialect = 'mysql' | 'sqlite';

export interface Database {
  sequelize: Sequelize;
  models: Models;
  dialect: Dialect;
  /** The URL with its password hidden, for pages and logs. */
  description: string;
  /** A round trip to the server; throws when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class DatabaseUrlError extends Error {}

function sequelizeFor(url: string): { sequelize: Sequelize; dialect: Dialect } {
  const common: Options = { logging: false, define: { underscored: true } };
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    const storage = file === ':memory:' ? ':memory:' : path.resolve(file);
    if (storage !== ':memory:') {
      fs.mkdirSync(path.dirname(storage), { recursive: true });
      privateFile(storage);
    }
    const sequelize = new Sequelize({
      ...common,
      dialect: 'sqlite',
      storage,
      // The web and the worker share one SQLite file: wait for the other's write lock.
      retry: { match: [/SQLITE_BUSY/], max: 10 },
      pool: { max: 1 },
    });
    return { sequelize, dialect: 'sqlite' };
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    const sequelize = new Sequelize(url.replace(/^mariadb:/, 'mysql:'), {
      ...common,
      dialect: 'mysql',
      pool: { max: 10, idle: 10_000 },
      dialectOptions: { connectTimeout: 5_000, dateStrings: false },
      timezone: '+00:00',
    });
    return { sequelize, dialect: 'mysql' };
  }
  throw new DatabaseUrlError(`unsupported database URL ${JSON.stringify(redact(url))}: expected sqlite:<path> or mysql://...`);
}

/**
 * The catalog holds password hashes and sessions: its file is made readable by its owner only
 * (SQLite gives its -wal and -shm files the same mode), and an existing one is tightened.
 */
function privateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  const { mode, uid } = fs.statSync(file);
  if (mode & 0o077 && uid === process.getuid?.()) fs.chmodSync(file, mode & 0o700);
}

/**
 * Opens the database named by `url`, brings its schema up to date (unless told not to)
 * and defines the models.
 */
export async function openDatabase(url: string, options: { migrate?: boolean } = {}): Promise<Database> {
  const { sequelize, dialect } = sequelizeFor(url);
  if (dialect === 'sqlite') {
    // WAL lets readers (the web) go on while the worker writes.
    await sequelize.query('PRAGMA journal_mode = WAL');
    await sequelize.query('PRAGMA busy_timeout = 5000');
    await sequelize.query('PRAGMA foreign_keys = ON');
  }
  if (options.migrate !== false) await migrate(sequelize);
  const models = defineModels(sequelize);
  return {
    sequelize,
    models,
    dialect,
    description: redact(url),
    ping: async () => {
      await sequelize.query('SELECT 1');
    },
    close: () => sequelize.close(),
  };
}
