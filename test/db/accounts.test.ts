// Accounts on real MariaDB and SQLite: scrypt password hashes, authentication, groups
// and the instruments their members may submit for; and the ops/manage commands.
import { openDatabase, type Database } from '../../db';
import { AccountError, authenticate, createUser, hashPassword, maySubmitFor, setGroup, setPassword, submittableInstruments, verifyPassword } from '../../db/accounts';
import { freshMysqlDatabase, freshSqliteDatabase, type TestDatabase } from '../support/services';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../support/paths';

it('hashes passwords with scrypt, salted, and verifies them', async () => {
  const a = await hashPassword('correct horse');
  const b = await hashPassword('correct horse');
  expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  expect(a).not.toBe(b);
  expect(await verifyPassword('correct horse', a)).toBe(true);
  expect(await verifyPassword('correct hors', a)).toBe(false);
  expect(await verifyPassword('anything', 'plain-text')).toBe(false);
  await expect(hashPassword('short')).rejects.toThrow('a password needs at least 8 characters');
});

describe.each([
  ['MariaDB', () => freshMysqlDatabase('accounts')],
  ['SQLite', async () => freshSqliteDatabase()],
] as [string, () => Promise<TestDatabase>][])('accounts on %s', (_name, fresh) => {
  let target: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    target = await fresh();
    db = await openDatabase(target.url);
  });
  afterAll(async () => {
    await db.close();
    await target.drop();
  });

  it('authenticates only an active user with the right password', async () => {
    await createUser(db, { username: 'alice', password: 'alice-password', email: 'alice@example.org' });
    expect((await authenticate(db, 'alice', 'alice-password'))?.username).toBe('alice');
    expect(await authenticate(db, 'alice', 'wrong-password')).toBeNull();
    expect(await authenticate(db, 'nobody', 'alice-password')).toBeNull();
    await setPassword(db, 'alice', 'a-new-password');
    expect(await authenticate(db, 'alice', 'alice-password')).toBeNull();
    expect(await authenticate(db, 'alice', 'a-new-password')).not.toBeNull();
    await db.models.User.update({ isActive: false }, { where: { username: 'alice' } });
    expect(await authenticate(db, 'alice', 'a-new-password')).toBeNull();
  });

  it('refuses bad and duplicate user names with a clear message', async () => {
    for (const bad of ['../etc', '..', '.hidden', 'a/b', '', 'x'.repeat(151)]) {
      await expect(createUser(db, { username: bad })).rejects.toThrow(AccountError);
    }
    await expect(createUser(db, { username: 'a$b' })).rejects.toThrow('user name "a$b" is not valid');
    await createUser(db, { username: 'bob' });
    await expect(createUser(db, { username: 'bob' })).rejects.toThrow("user 'bob' already exists");
  });

  it('gives each user the instruments of their groups, and every one to a superuser', async () => {
    await createUser(db, { username: 'carol' });
    await createUser(db, { username: 'root', isSuperuser: true });
    await setGroup(db, 'acs-team', ['ACS', 'wfc3'], ['carol']);
    await setGroup(db, 'cos-team', ['cos'], ['carol']);
    const carol = (await db.models.User.findOne({ where: { username: 'carol' } }))!;
    expect(await submittableInstruments(db, carol)).toEqual(['acs', 'cos', 'wfc3']);
    expect(await maySubmitFor(db, carol, 'WFC3')).toBe(true);
    expect(await maySubmitFor(db, carol, 'stis')).toBe(false);
    await setGroup(db, 'acs-team', ['acs'], []); // narrowing a group takes effect
    expect(await maySubmitFor(db, carol, 'wfc3')).toBe(false);
    const root = (await db.models.User.findOne({ where: { username: 'root' } }))!;
    expect(await submittableInstruments(db, root)).toBe('*');
  });

  it('creates users and groups through ops/manage, reading the password from stdin', async () => {
    const env = { CRDS_DATABASE_URL: target.url };
    const created = await runManage(['add-user', 'dave', '--email', 'dave@example.org', '--password-stdin'], env, 'dave-password\n');
    expect(created).toEqual({ code: 0, out: expect.stringContaining("created user 'dave'") });
    expect(await authenticate(db, 'dave', 'dave-password')).not.toBeNull();
    expect(await runManage(['add-user', 'dave'], env)).toEqual({ code: 1, out: expect.stringContaining("user 'dave' already exists") });
    expect(await runManage(['add-user', '--bogus'], env)).toEqual({ code: 2, out: expect.stringContaining("Unknown option '--bogus'") });
    expect(await runManage(['set-group', 'stis-team', '--instruments', 'stis', '--members', 'dave'], env)).toEqual({
      code: 0,
      out: expect.stringContaining("group 'stis-team' submits for stis"),
    });
    const dave = (await db.models.User.findOne({ where: { username: 'dave' } }))!;
    expect(await maySubmitFor(db, dave, 'stis')).toBe(true);
  });
});

async function runManage(args: string[], env: Record<string, string>, stdin = ''): Promise<{ code: number; out: string }> {
  const child = spawn(`${REPO_ROOT}/ops/manage`, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end(stdin);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  return { code, out };
}
