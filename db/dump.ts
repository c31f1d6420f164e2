// A consistent copy of the whole database and its way back: MariaDB/MySQL through the
// server's own tools (`mariadb-dump --single-transaction`, the `mariadb` client), SQLite
// through its online backup API (node sqlite3's Database#backup). Used by backups,
// restores and mirrors.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sqlite3 from 'sqlite3';
import type { Dialect } from './index';

/** The dump's file name inside a backup, by dialect. */
export const dumpFileName = (dialect: Dialect): string => (dialect === 'mysql' ? 'database.sql' : 'database.sqlite');

interface MysqlTarget {
  args: string[];
  env: NodeJS.ProcessEnv;
  database: string;
}

/** Client arguments for a mysql:// URL; the password goes in MYSQL_PWD, never on the command line. */
function mysqlTarget(url: string): MysqlTarget {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  const database = decodeURIComponent(u.pathname.slice(1));
  return {
    args: ['--protocol=TCP', `--host=${u.hostname}`, `--port=${u.port || '3306'}`, `--user=${decodeURIComponent(u.username)}`],
    env: { ...process.env, MYSQL_PWD: decodeURIComponent(u.password) },
    database,
  };
}

/** The first of `names` found on PATH (mariadb-dump, else mysqldump). */
function tool(names: string[]): string {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
    }
    for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin']) if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  throw new Error(`none of ${names.join(', ')} is installed (apt-get install mariadb-client)`);
}

function runTool(command: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string, stdout?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The dump goes straight between the tool and its file (no copy through this process), so
    // a busy event loop never slows the tool and the file is whole once the tool has exited.
    const input = stdin ? fs.openSync(stdin, 'r') : 'ignore';
    const out = stdout ? fs.openSync(stdout, 'w') : 'ignore';
    const child = spawn(command, args, { env, stdio: [input, out, 'pipe'] });
    for (const fd of [input, out]) if (typeof fd === 'number') fs.closeSync(fd);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${path.basename(command)} failed (${code}): ${stderr.trim().slice(0, 2000)}`));
      resolve();
    });
  });
}

function sqliteFile(url: string): string {
  const file = url.slice('sqlite:'.length);
  if (file === ':memory:') throw new Error('an in-memory SQLite database cannot be backed up or restored');
  return path.resolve(file);
}

/** node sqlite3's Backup (its type declarations omit it). */
interface SqliteBackup {
  completed: boolean;
  step(pages: number, callback: (err: Error | null) => void): void;
  finish(callback?: () => void): void;
}
type WithBackup = { backup(file: string, destName: string, sourceName: string, fileIsDest: boolean, callback: (err: Error | null) => void): SqliteBackup };

/** Runs one SQLite online backup between the live file and `other`, all pages in one step. */
function sqliteBackup(live: string, other: string, otherIsDestination: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(live, (err) => {
      if (err) return reject(err);
      const backup = (db as unknown as WithBackup).backup(other, 'main', 'main', otherIsDestination, (err2: Error | null) => {
        if (err2) return db.close(() => reject(err2));
        backup.step(-1, (err3: Error | null) => {
          backup.finish(() => db.close(() => (err3 && !backup.completed ? reject(err3) : resolve())));
        });
      });
    });
  });
}

/** Writes a consistent dump of the database at `url` into `file`. */
export async function dumpDatabase(url: string, dialect: Dialect, file: string): Promise<void> {
  fs.rmSync(file, { force: true });
  if (dialect === 'sqlite') return sqliteBackup(sqliteFile(url), file, true);
  const t = mysqlTarget(url);
  await runTool(tool(['mariadb-dump', 'mysqldump']), [...t.args, '--single-transaction', '--quick', '--skip-lock-tables', '--hex-blob', '--complete-insert', '--default-character-set=utf8mb4', t.database], t.env, undefined, file);
}

/** Replaces the database at `url` by the dump in `file` (tables of the dump dropped and recreated). */
export async function loadDatabase(url: string, dialect: Dialect, file: string): Promise<void> {
  if (dialect === 'sqlite') return sqliteBackup(sqliteFile(url), file, false);
  const t = mysqlTarget(url);
  await runTool(tool(['mariadb', 'mysql']), [...t.args, '--default-character-set=utf8mb4', t.database], t.env, file);
}
