// Migrations up, down and up again on both dialects, against real MariaDB and SQLite.
import { openDatabase } from '../../db';
import { migrate, migrator } from '../../db/migrate';
import { migrations } from '../../db/migrations';
import { describeOnBothDialects } from '../support/databases';
import { freshMysqlDatabase } from '../support/services';

describeOnBothDialects('migrations on %s', 'migrations', (open) => {
  const tables = async () => (await open.db.sequelize.getQueryInterface().showAllTables()).map(String).sort();

  it('applies every migration to an empty database, then has nothing pending', async () => {
    expect(await migrate(open.db.sequelize)).toEqual(migrations.map((m) => m.name));
    expect(await tables()).toEqual(
      expect.arrayContaining(['audit_records', 'groups', 'instrument_locks', 'schema_migrations', 'user_groups', 'users']),
    );
    expect(await migrate(open.db.sequelize)).toEqual([]);
  });

  it('reverts every migration and applies them again', async () => {
    await migrator(open.db.sequelize).down({ to: 0 });
    expect(await tables()).toEqual(['schema_migrations']);
    expect(await migrate(open.db.sequelize)).toHaveLength(migrations.length);
  });

  it('gives working models once migrated', async () => {
    const { User, Group } = open.db.models;
    const group = await Group.create({ name: 'acs-team', instruments: ['acs', 'wfc3'] });
    const user = await User.create({ username: 'submitter', email: 's@example.org' });
    await (user as unknown as { addGroup(g: unknown): Promise<void> }).addGroup(group);
    const again = await User.findOne({ where: { username: 'submitter' }, include: ['groups'] });
    const groups = (again as unknown as { groups: { name: string; instruments: string[] }[] }).groups;
    expect(groups.map((g) => [g.name, g.instruments])).toEqual([['acs-team', ['acs', 'wfc3']]]);
    await expect(User.create({ username: 'submitter' })).rejects.toThrow(/unique|Validation/i);
  });
}, { migrate: false });

it('two processes migrating one MariaDB database at once apply each migration once', async () => {
  const target = await freshMysqlDatabase('migrate_race');
  const [a, b] = await Promise.all([openDatabase(target.url, { migrate: false }), openDatabase(target.url, { migrate: false })]);
  try {
    const [ra, rb] = await Promise.all([migrate(a.sequelize), migrate(b.sequelize)]);
    expect([...ra, ...rb].sort()).toEqual(migrations.map((m) => m.name).sort());
  } finally {
    await a.close();
    await b.close();
    await target.drop();
  }
});
