// The dataset catalog: archived datasets' matching parameters by compound id
// (PRODUCT:EXPOSURE, upper case), standing in for the archive database the original server
// queried for get_dataset_ids / get_dataset_headers_by_id / get_best_references_by_ids.
import type { Database } from './index';

/** Stores (or replaces) dataset headers; returns how many were written. */
export async function storeDatasets(db: Database, headers: Record<string, Record<string, string>>, instrumentKeys: string[]): Promise<number> {
  const rows = Object.entries(headers).map(([id, header]) => {
    const instrument = instrumentKeys.map((k) => header[k]).find((v) => typeof v === 'string' && v) ?? '';
    return { datasetId: id.toUpperCase(), instrument: String(instrument).toLowerCase(), header };
  });
  await db.sequelize.transaction(async (transaction) => {
    for (let i = 0; i < rows.length; i += 500) {
      await db.models.Dataset.bulkCreate(rows.slice(i, i + 500), { transaction, updateOnDuplicate: ['instrument', 'header', 'updatedAt'] as never });
    }
  });
  return rows.length;
}
