// The dataset catalog: archived datasets' matching parameters by compound id
// (PRODUCT:EXPOSURE, upper case), standing in for the archive database the original server
// queried for get_dataset_ids / get_dataset_headers_by_id / get_best_references_by_ids.
// Each row keeps its exposure time ("DATE-OBS TIME-OBS") for datasets_since.
import { QueryTypes, type Transaction } from 'sequelize';
import { exposureTime, MIN_DATE } from '../crds/affected';
import { datasetId } from '../crds/dataset-generator';
import type { Database } from './index';

const INSERT_ROWS = 1000;

function instrumentOf(header: Record<string, string>, instrumentKeys: string[]): string {
  return String(instrumentKeys.map((k) => header[k]).find((v) => typeof v === 'string' && v) ?? '').toLowerCase();
}

/** Stores (or replaces) dataset headers; returns how many were written. */
export async function storeDatasets(db: Database, headers: Record<string, Record<string, string>>, instrumentKeys: string[]): Promise<number> {
  const rows = Object.entries(headers).map(([id, header]) => ({
    datasetId: id.toUpperCase(),
    instrument: instrumentOf(header, instrumentKeys),
    header,
    exptime: exposureTime(header),
  }));
  await db.sequelize.transaction(async (transaction) => {
    for (let i = 0; i < rows.length; i += 500) {
      await db.models.Dataset.bulkCreate(rows.slice(i, i + 500), { transaction, updateOnDuplicate: ['instrument', 'header', 'exptime', 'updatedAt'] as never });
    }
  });
  return rows.length;
}

/**
 * Reserves `n` consecutive serials of the site-wide dataset counter and returns the first:
 * ids made from them never collide with earlier runs' or other instruments'.
 */
export async function reserveDatasetSerials(db: Database, n: number): Promise<number> {
  return db.sequelize.transaction(async (transaction: Transaction) => {
    const { NameCounter } = db.models;
    const row = await NameCounter.findByPk('dataset_serial', { transaction, lock: transaction.LOCK.UPDATE });
    const first = row ? row.counter + 1 : 1;
    if (row) await row.update({ counter: row.counter + n }, { transaction });
    else await NameCounter.create({ name: 'dataset_serial', counter: n }, { transaction });
    return first;
  });
}

/**
 * Adds generated datasets under new unique ids (crds/dataset-generator datasetId), in
 * multi-row INSERTs of INSERT_ROWS; calls `progress` after each. Returns the ids' range.
 */
export async function appendDatasets(
  db: Database,
  headers: Iterable<Record<string, string>>,
  count: number,
  instrumentKeys: string[],
  progress?: (done: number) => void,
): Promise<{ first: string; last: string; stored: number }> {
  let serial = await reserveDatasetSerials(db, count);
  const now = new Date();
  let chunk: unknown[][] = [];
  let stored = 0;
  let first = '';
  let last = '';
  const flush = async () => {
    if (!chunk.length) return;
    const placeholders = chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
    await db.sequelize.query(`INSERT INTO datasets (dataset_id, instrument, header, exptime, created_at, updated_at) VALUES ${placeholders}`, {
      replacements: chunk.flat(),
    });
    stored += chunk.length;
    chunk = [];
    progress?.(stored);
  };
  for (const header of headers) {
    if (stored + chunk.length >= count) break;
    const instrument = instrumentOf(header, instrumentKeys);
    const id = datasetId(instrument, serial++);
    first ||= id;
    last = id;
    chunk.push([id, instrument, JSON.stringify(header), exposureTime(header), now, now]);
    if (chunk.length >= INSERT_ROWS) await flush();
  }
  await flush();
  return { first, last, stored };
}

/** Compound ids of an instrument's datasets observed at or after `since` (all when none), sorted. */
export async function datasetIdsSince(db: Database, instrument: string, since?: string | null): Promise<string[]> {
  const rows = await db.sequelize.query<{ dataset_id: string }>(
    'SELECT dataset_id FROM datasets WHERE instrument = ? AND exptime >= ? ORDER BY dataset_id',
    { replacements: [instrument.toLowerCase(), since || MIN_DATE], type: QueryTypes.SELECT },
  );
  return rows.map((r) => r.dataset_id);
}

/** The dataset catalog's state: its size and last change, equal only when nothing changed. */
export async function datasetCatalogStamp(db: Database): Promise<string> {
  const [row] = await db.sequelize.query<{ n: number; last: string | Date | null }>('SELECT COUNT(*) AS n, MAX(updated_at) AS last FROM datasets', {
    type: QueryTypes.SELECT,
  });
  const last = row?.last ? new Date(row.last).getTime() : 0;
  return `${Number(row?.n ?? 0)}@${last}`;
}
