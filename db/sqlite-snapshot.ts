// get_sqlite_db's snapshot: the catalog and the context history as an SQLite database with
// the original's table names (crds_<obs>_catalog, crds_<obs>_context_history), which the
// client's `crds sql` queries, compressed with zlib (crds-protocol.md §1.6).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import sqlite3 from 'sqlite3';
import type { Database } from './index';
import { FILE_INFO_FIELDS, fileInfo, pyDate } from './catalog';

function run(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve())));
}

const deflateAsync = promisify(deflate);

/** Rows in multi-row INSERTs of ROWS_PER_INSERT (sqlite3 runs each statement on its own thread, not the event loop). */
const ROWS_PER_INSERT = 50;
async function insertRows(db: sqlite3.Database, table: string, rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const batch = rows.slice(i, i + ROWS_PER_INSERT);
    const one = `(${batch[0].map(() => '?').join(', ')})`;
    await run(db, `INSERT INTO ${table} VALUES ${batch.map(() => one).join(', ')}`, batch.flat());
  }
}

/** zlib-compressed bytes of a fresh SQLite file holding the catalog and the context history. */
export async function sqliteSnapshot(db: Database, observatory: string): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-sqlite-snapshot-'));
  const file = path.join(dir, 'crds.sqlite3');
  try {
    const out = new sqlite3.Database(file);
    try {
      const catalog = `crds_${observatory}_catalog`;
      const history = `crds_${observatory}_context_history`;
      await run(out, `CREATE TABLE ${catalog} (id INTEGER PRIMARY KEY, ${FILE_INFO_FIELDS.map((f) => `${f} TEXT`).join(', ')})`);
      await run(out, `CREATE TABLE ${history} (id INTEGER PRIMARY KEY, start_date TEXT, context TEXT, state TEXT, description TEXT)`);
      await run(out, 'BEGIN');
      const files = (await db.models.CatalogFile.findAll({ order: [['id', 'ASC']] })).map((row) => {
        const info = fileInfo(row);
        return [row.id, ...FILE_INFO_FIELDS.map((f) => info[f])];
      });
      await insertRows(out, catalog, files);
      const contexts = (await db.models.ContextHistory.findAll({ order: [['id', 'ASC']] })).map((h) => [h.id, pyDate(h.startDate), h.context, h.state, h.description]);
      await insertRows(out, history, contexts);
      await run(out, 'COMMIT');
    } finally {
      await new Promise<void>((resolve) => out.close(() => resolve()));
    }
    // zlib on the thread pool: a large catalog's file takes a while to compress.
    return await deflateAsync(await fs.promises.readFile(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
