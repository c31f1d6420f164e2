// Schema migrations with umzug (Sequelize's own migration tool). The list of migrations
// is explicit (db/migrations/index.ts) so it works the same under tsx, swc and webpack.
import { Umzug, SequelizeStorage } from 'umzug';
import { QueryTypes, type QueryInterface, type Sequelize } from 'sequelize';
import { migrations } from './migrations';

export type MigrationContext = { queryInterface: QueryInterface; sequelize: Sequelize };

export function migrator(sequelize: Sequelize): Umzug<MigrationContext> {
  return new Umzug<MigrationContext>({
    migrations: migrations.map((m) => ({
      name: m.name,
      up: ({ context }) => m.up(context),
      down: ({ context }) => m.down(context),
    })),
    context: { queryInterface: sequelize.getQueryInterface(), sequelize },
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
  });
}

/**
 * Applies pending migrations and returns their names. On MySQL a named lock keeps two
 * processes starting at once (web and worker) from applying the same migration twice;
 * on SQLite the embedded site's start script migrates before it starts them.
 */
export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const umzug = migrator(sequelize);
  if (sequelize.getDialect() !== 'mysql') return (await umzug.up()).map((m) => m.name);
  // GET_LOCK is per connection: hold one connection for the lock's whole life.
  return sequelize.transaction(async (transaction) => {
    const [row] = await sequelize.query<{ got: number }>("SELECT GET_LOCK('crds_schema_migrations', 60) AS got", {
      type: QueryTypes.SELECT,
      transaction,
    });
    if (!row || Number(row.got) !== 1) throw new Error('could not take the schema migration lock within 60 s');
    try {
      return (await umzug.up()).map((m) => m.name);
    } finally {
      await sequelize.query("SELECT RELEASE_LOCK('crds_schema_migrations')", { transaction });
    }
  });
}
