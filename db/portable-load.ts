// A backup's dump loaded into the other dialect: a SQLite file into MariaDB, or a
// mariadb-dump into SQLite, row by row through the site's own connection. This is what lets
// a dev site on the embedded SQLite mirror the ops site on MariaDB (and a MariaDB test site
// restore a SQLite backup). Both sides must be at the same schema migration: the rows are
// copied column by column into tables the site's own migrations made.
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import sqlite3 from 'sqlite3';
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database, Dialect } from './index';

type Row = Record<string, unknown>;
/** Rows of one table, a batch at a time, in the dump's order. */
type Batch = { table: string; rows: Row[] };

const MIGRATIONS = 'schema_migrations';
const BATCH = 500;

/** Thrown when the dump cannot be loaded here; the site's database is left as it was. */
export class ForeignDumpError extends Error {}

// ---- reading a SQLite file ----

function sqliteAll(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<Row[]> {
  return new Promise((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))));
}

async function* sqliteBatches(file: string): AsyncGenerator<Batch> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    const tables = await sqliteAll(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    for (const { name } of tables as { name: string }[]) {
      // By rowid, a batch at a time: a catalog of a million rows never sits in memory whole.
      for (let after = -Infinity; ; ) {
        const rows = await sqliteAll(db, `SELECT rowid AS "__rowid", * FROM "${name.replace(/"/g, '""')}" WHERE rowid > ? ORDER BY rowid LIMIT ${BATCH}`, [after === -Infinity ? -(2 ** 62) : after]);
        if (!rows.length) break;
        after = Number(rows[rows.length - 1]!.__rowid);
        for (const r of rows) delete r.__rowid;
        yield { table: name, rows };
      }
    }
  } finally {
    await new Promise((resolve) => db.close(resolve));
  }
}

// ---- reading a mariadb-dump ----

const ESCAPES: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' };

/**
 * The tuples of one `INSERT INTO `t` (`a`,`b`) VALUES (...),(...);` statement as mariadb-dump
 * writes it with --complete-insert (strings backslash-escaped, binary as 0x… with --hex-blob).
 */
export function parseInsert(line: string): Batch & { columns: string[] } {
  const head = /^INSERT INTO `((?:[^`]|``)+)` \(([^)]*)\) VALUES /.exec(line);
  if (!head) throw new ForeignDumpError(`an INSERT without its column list in the dump: ${line.slice(0, 80)}`);
  const table = head[1]!.replace(/``/g, '`');
  const columns = head[2]!.split(',').map((c) => c.trim().replace(/^`|`$/g, '').replace(/``/g, '`'));
  const rows: Row[] = [];
  let i = head[0].length;
  const fail = (what: string): never => {
    throw new ForeignDumpError(`${what} at character ${i} of an INSERT into ${table}`);
  };
  for (;;) {
    if (line[i] !== '(') fail('expected a row');
    i++;
    const values: unknown[] = [];
    for (;;) {
      const c = line[i];
      if (c === "'") {
        let s = '';
        for (i++; ; i++) {
          const ch = line[i];
          if (ch === undefined) fail('an unterminated string');
          if (ch === '\\') {
            const next = line[++i]!;
            s += ESCAPES[next] ?? next;
          } else if (ch === "'") {
            if (line[i + 1] === "'") {
              s += "'";
              i++;
            } else break;
          } else s += ch;
        }
        i++;
        values.push(s);
      } else {
        const m = /^(NULL|0x[0-9A-Fa-f]*|-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/.exec(line.slice(i, i + 400));
        if (!m) fail('an unreadable value');
        const token = m![1]!;
        i += token.length;
        if (token === 'NULL') values.push(null);
        else if (token.startsWith('0x')) values.push(Buffer.from(token.slice(2), 'hex'));
        else if (/^-?[0-9]+$/.test(token) && !Number.isSafeInteger(Number(token))) values.push(token);
        else values.push(Number(token));
      }
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] !== ')') fail('expected , or )');
      i++;
      break;
    }
    if (values.length !== columns.length) fail(`a row of ${values.length} values for ${columns.length} columns`);
    rows.push(Object.fromEntries(columns.map((c, k) => [c, values[k]])));
    if (line[i] === ',') {
      i++;
      continue;
    }
    if (line.slice(i).trim() !== ';') fail('trailing text');
    return { table, columns, rows };
  }
}

async function* mysqlDumpBatches(file: string): AsyncGenerator<Batch> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  // An extended INSERT puts each row on a line of its own ("(…),\n(…);"); strings never hold a
  // raw line break (they escape it), so a statement ends on the line that ends with ";".
  let statement: string[] = [];
  for await (const line of lines) {
    if (!statement.length && !line.startsWith('INSERT INTO ')) continue;
    statement.push(line);
    if (!line.endsWith(';')) continue;
    const { table, rows } = parseInsert(statement.join(''));
    statement = [];
    for (let k = 0; k < rows.length; k += BATCH) yield { table, rows: rows.slice(k, k + BATCH) };
  }
  if (statement.length) throw new ForeignDumpError('the dump ends inside an INSERT: it is cut short');
}

// ---- writing into the site's database ----

const DATE_TEXT = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)(?: ?(Z|[+-]\d\d:\d\d))?$/;

/** A stored date as the other dialect wrote it (SQLite: '… +00:00'; MariaDB: UTC without zone). */
function asDate(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = DATE_TEXT.exec(value);
  return m ? new Date(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`) : value;
}

function quoteTable(db: Database, table: string): string {
  return db.dialect === 'mysql' ? `\`${table.replace(/`/g, '``')}\`` : `"${table.replace(/"/g, '""')}"`;
}

async function migrationNames(db: Database, transaction: Transaction): Promise<string[]> {
  const rows = await db.sequelize.query<{ name: string }>(`SELECT name FROM ${quoteTable(db, MIGRATIONS)}`, { type: QueryTypes.SELECT, transaction });
  return rows.map((r) => r.name).sort();
}

export interface ForeignLoadResult {
  tables: number;
  rows: number;
}

/**
 * Replaces every table's rows of `db` by those of `dump`, a dump made on `dumpDialect`, in one
 * transaction: on any error (another schema, an unreadable dump) nothing is changed.
 */
export async function loadForeignDump(db: Database, dump: string, dumpDialect: Dialect): Promise<ForeignLoadResult> {
  if (dumpDialect === db.dialect) throw new ForeignDumpError(`the dump is of this site's own dialect (${db.dialect}): load it with the database's own tools`);
  const qi = db.sequelize.getQueryInterface();
  const tables = (await qi.showAllTables()).map((t) => (typeof t === 'string' ? t : (t as { tableName: string }).tableName));
  const columns = new Map<string, Map<string, string>>();
  for (const t of tables) {
    const described = await qi.describeTable(t);
    columns.set(t, new Map(Object.entries(described).map(([c, d]) => [c, String(d.type).toUpperCase()])));
  }
  const result: ForeignLoadResult = { tables: 0, rows: 0 };
  const source = dumpDialect === 'sqlite' ? sqliteBatches(dump) : mysqlDumpBatches(dump);
  await db.sequelize.transaction(async (transaction) => {
    // Rows arrive table by table in the dump's order, not in the order of their foreign keys.
    if (db.dialect === 'mysql') await db.sequelize.query('SET FOREIGN_KEY_CHECKS = 0', { transaction });
    else await db.sequelize.query('PRAGMA defer_foreign_keys = ON', { transaction });
    try {
      const ours = await migrationNames(db, transaction);
      for (const t of tables) if (t !== MIGRATIONS) await db.sequelize.query(`DELETE FROM ${quoteTable(db, t)}`, { transaction });
      const theirs: string[] = [];
      const seen = new Set<string>();
      for await (const { table, rows } of source) {
        if (table === MIGRATIONS) {
          theirs.push(...rows.map((r) => String(r.name)));
          continue;
        }
        const known = columns.get(table);
        if (!known) throw new ForeignDumpError(`the dump has a table this site does not (${table}): the two sites are at different versions`);
        if (!seen.has(table)) {
          seen.add(table);
          result.tables++;
        }
        const converted = rows.map((r) => {
          const out: Row = {};
          for (const [c, v] of Object.entries(r)) {
            const type = known.get(c);
            if (type === undefined) throw new ForeignDumpError(`the dump's ${table} has a column this site's does not (${c}): the two sites are at different versions`);
            out[c] = /^(DATETIME|TIMESTAMP)/.test(type) ? asDate(v) : v;
          }
          return out;
        });
        await qi.bulkInsert(table, converted, { transaction });
        result.rows += rows.length;
      }
      theirs.sort();
      if (theirs.join('\n') !== ours.join('\n')) {
        const missing = theirs.filter((n) => !ours.includes(n));
        const extra = ours.filter((n) => !theirs.includes(n));
        throw new ForeignDumpError(
          `the dump's schema is not this site's (${missing.length ? `it has migrations this site lacks: ${missing.join(', ')}` : `it lacks migrations this site has: ${extra.join(', ')}`}): run the same version on both sites`,
        );
      }
    } finally {
      if (db.dialect === 'mysql') await db.sequelize.query('SET FOREIGN_KEY_CHECKS = 1', { transaction });
    }
  });
  return result;
}

