// What the home page shows besides service status: the current contexts, the latest
// deliveries, and — on a site with no operator yet — how to make the first account.
import type { Database } from '../../db';
import { searchFiles } from '../../db/browse';
import { defaultContexts } from '../../db/catalog';
import { fileSummary } from './catalog-pages';

export async function homeData(db: Database) {
  const [contexts, latest, operators] = await Promise.all([
    defaultContexts(db).catch(() => ({ latest: '', edit: '', versions: '' })),
    searchFiles(db, {}, { sort: 'delivery_date', descending: true, limit: 10 }).catch(() => ({ rows: [] })),
    db.models.User.count({ where: { isSuperuser: true } }).catch(() => -1),
  ]);
  return { contexts, latest_deliveries: latest.rows.map(fileSummary), needs_first_operator: operators === 0 };
}
