// The other dialect's dump: mariadb-dump's statements read value by value, and a dump that
// does not fit the site (another schema, cut short) refused with the site's rows untouched.
// The whole path (a backup of each dialect restored into the other) is in
// test/ops/backup-restore.test.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase, type Database } from '../../db';
import { migrations } from '../../db/migrations';
import { ForeignDumpError, loadForeignDump, parseInsert } from '../../db/portable-load';
import { freshSqliteDatabase, type TestDatabase } from '../support/services';

describe('parseInsert', () => {
  it('reads strings with every escape, NULL, numbers, hex and integers beyond 2^53', () => {
    const line = "INSERT INTO `a``b` (`id`, `s`, `n`, `h`) VALUES (1,'x\\ny\\'z\\\\w\\\"q\\0\\Z\\t','1.5e3',0x00ff),(2,NULL,-2.25,0x),(9007199254740993,'it''s',0,NULL);";
    const parsed = parseInsert(line);
    expect(parsed.table).toBe('a`b');
    expect(parsed.columns).toEqual(['id', 's', 'n', 'h']);
    expect(parsed.rows).toEqual([
      { id: 1, s: 'x\ny\'z\\w"q\0\x1a\t', n: '1.5e3', h: Buffer.from([0, 255]) },
      { id: 2, s: null, n: -2.25, h: Buffer.alloc(0) },
      { id: '9007199254740993', s: "it's", n: 0, h: null },
    ]);
  });

  it.each([
    ['no column list', 'INSERT INTO `a` VALUES (1);', /without its column list/],
    ['an unterminated string', "INSERT INTO `a` (`s`) VALUES ('abc", /unterminated string/],
    ['too few values', 'INSERT INTO `a` (`x`, `y`) VALUES (1);', /1 values for 2 columns/],
    ['garbage', 'INSERT INTO `a` (`x`) VALUES (DROP);', /unreadable value/],
    ['trailing text', 'INSERT INTO `a` (`x`) VALUES (1); DROP TABLE a;', /trailing text/],
  ])('refuses %s', (_what, line, message) => {
    expect(() => parseInsert(line)).toThrow(ForeignDumpError);
    expect(() => parseInsert(line)).toThrow(message);
  });
});

describe('loadForeignDump into SQLite', () => {
  let target: TestDatabase;
  let db: Database;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-foreign-'));
  beforeAll(async () => {
    target = freshSqliteDatabase();
    db = await openDatabase(target.url);
    await db.models.User.create({ username: 'keeper', email: 'k@example.org' });
  });
  afterAll(async () => {
    await db.close();
    await target.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const users = async () => (await db.models.User.findAll()).map((u) => u.get('username'));
  const dump = (name: string, lines: string[]) => {
    const file = path.join(work, name);
    fs.writeFileSync(file, `-- MariaDB dump\n${lines.join('\n')}\n`);
    return file;
  };
  const schema = (names: string[]) => `INSERT INTO \`schema_migrations\` (\`name\`) VALUES ${names.map((n) => `('${n}')`).join(',\n')};`;
  const userRow = "INSERT INTO `users` (`id`, `username`, `email`, `is_superuser`, `is_active`, `created_at`, `updated_at`) VALUES (7,'mirrored','m@example.org',1,1,'2026-01-02 03:04:05','2026-01-02 03:04:05.250000');";

  it('refuses a dump of another schema version and changes nothing', async () => {
    const file = dump('older.sql', [schema(migrations.slice(0, -1).map((m) => m.name)), userRow]);
    await expect(loadForeignDump(db, file, 'mysql')).rejects.toThrow(/lacks migrations this site has/);
    expect(await users()).toEqual(['keeper']);
  });

  it('refuses a dump cut inside a statement and changes nothing', async () => {
    const file = dump('cut.sql', [schema(migrations.map((m) => m.name)), userRow.slice(0, 120)]);
    await expect(loadForeignDump(db, file, 'mysql')).rejects.toThrow(/cut short/);
    expect(await users()).toEqual(['keeper']);
  });

  it('replaces the rows by the dump\'s, dates read as UTC', async () => {
    const file = dump('same.sql', [schema(migrations.map((m) => m.name)), userRow]);
    expect(await loadForeignDump(db, file, 'mysql')).toEqual({ tables: 1, rows: 1 });
    const [user] = await db.models.User.findAll();
    expect(user!.get('username')).toBe('mirrored');
    expect((user!.get('updatedAt') as Date).toISOString()).toBe('2026-01-02T03:04:05.250Z');
  });
});
