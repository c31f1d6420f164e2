// get_sqlite_db's snapshot: the catalog and the context history as an SQLite database with
// the original's table names (crds_<obs>_catalog, crds_<obs>_context_history), which the
// client's `crds sql` queries, compressed with zlib (crds-protocol.md §1.6).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import sqlite3 from 'sqlite3';
import type { Database } from './index';
import { FILE_INFO_FIELDS, fileInfo, pyDate } from './catalog';

function run(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve())));
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
      for (const row of await db.models.CatalogFile.findAll({ order: [['id', 'ASC']] })) {
        const info = fileInfo(row);
        await run(out, `INSERT INTO ${catalog} VALUES (?, ${FILE_INFO_FIELDS.map(() => '?').join(', ')})`, [row.id, ...FILE_INFO_FIELDS.map((f) => info[f])]);
      }
      for (const h of await db.models.ContextHistory.findAll({ order: [['id', 'ASC']] })) {
        await run(out, `INSERT INTO ${history} VALUES (?, ?, ?, ?, ?)`, [h.id, pyDate(h.startDate), h.context, h.state, h.description]);
      }
      await run(out, 'COMMIT');
    } finally {
      await new Promise<void>((resolve) => out.close(() => resolve()));
    }
    return deflateSync(fs.readFileSync(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
