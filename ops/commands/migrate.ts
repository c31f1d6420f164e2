// `ops/manage migrate`: brings the configured database's schema up to date.
import { config } from '../../config';
import { openDatabase } from '../../db';
import { migrate } from '../../db/migrate';

export default async function (args: string[]): Promise<number> {
  if (args.length > 0) {
    process.stderr.write('usage: ops/manage migrate\n');
    return 2;
  }
  const db = await openDatabase(config().databaseUrl, { migrate: false });
  try {
    const applied = await migrate(db.sequelize);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema up to date\n');
    return 0;
  } finally {
    await db.close();
  }
}
