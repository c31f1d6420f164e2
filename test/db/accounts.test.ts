// Accounts on real MariaDB and SQLite: scrypt password hashes, authentication, groups
// and the instruments their members may submit for; and the ops/manage commands.
import { AccountError, authenticate, createUser, hashPassword, maySubmitFor, setGroup, setPassword, submittableInstruments, verifyPassword } from '../../db/accounts';
import { describeOnBothDialects } from '../support/databases';
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

describeOnBothDialects('accounts on %s', 'accounts', (open) => {
  it('authenticates only an active user with the right password', async () => {
    await createUser(open.db, { username: 'alice', password: 'alice-password', email: 'alice@example.org' });
    expect((await authenticate(open.db, 'alice', 'alice-password'))?.username).toBe('alice');
    expect(await authenticate(open.db, 'alice', 'wrong-password')).toBeNull();
    expect(await authenticate(open.db, 'nobody', 'alice-password')).toBeNull();
    await setPassword(open.db, 'alice', 'a-new-password');
    expect(await authenticate(open.db, 'alice', 'alice-password')).toBeNull();
    expect(await authenticate(open.db, 'alice', 'a-new-password')).not.toBeNull();
    await open.db.models.User.update({ isActive: false }, { where: { username: 'alice' } });
    expect(await authenticate(open.db, 'alice', 'a-new-password')).toBeNull();
  });

  it('refuses bad and duplicate user names with a clear message', async () => {
    for (const bad of ['../etc', '..', '.hidden', 'a/b', '', 'x'.repeat(151)]) {
      await expect(createUser(open.db, { username: bad })).rejects.toThrow(AccountError);
    }
    await expect(createUser(open.db, { username: 'a$b' })).rejects.toThrow('user name "a$b" is not valid');
    await createUser(open.db, { username: 'bob' });
    await expect(createUser(open.db, { username: 'bob' })).rejects.toThrow("user 'bob' already exists");
  });

  it('gives each user the instruments of their groups, and every one to a superuser', async () => {
    await createUser(open.db, { username: 'carol' });
    await createUser(open.db, { username: 'root', isSuperuser: true });
    await setGroup(open.db, 'acs-team', ['ACS', 'wfc3'], ['carol']);
    await setGroup(open.db, 'cos-team', ['cos'], ['carol']);
    const carol = (await open.db.models.User.findOne({ where: { username: 'carol' } }))!;
    expect(await submittableInstruments(open.db, carol)).toEqual(['acs', 'cos', 'wfc3']);
    expect(await maySubmitFor(open.db, carol, 'WFC3')).toBe(true);
    expect(await maySubmitFor(open.db, carol, 'stis')).toBe(false);
    await setGroup(open.db, 'acs-team', ['acs'], []); // narrowing a group takes effect
    expect(await maySubmitFor(open.db, carol, 'wfc3')).toBe(false);
    const root = (await open.db.models.User.findOne({ where: { username: 'root' } }))!;
    expect(await submittableInstruments(open.db, root)).toBe('*');
  });

  it('creates users and groups through ops/manage, reading the password from stdin', async () => {
    const env = { CRDS_DATABASE_URL: open.url };
    const created = await runManage(['add-user', 'dave', '--email', 'dave@example.org', '--password-stdin'], env, 'dave-password\n');
    expect(created).toEqual({ code: 0, out: expect.stringContaining("created user 'dave'") });
    expect(await authenticate(open.db, 'dave', 'dave-password')).not.toBeNull();
    expect(await runManage(['add-user', 'dave'], env)).toEqual({ code: 1, out: expect.stringContaining("user 'dave' already exists") });
    expect(await runManage(['add-user', '--bogus'], env)).toEqual({ code: 2, out: expect.stringContaining("Unknown option '--bogus'") });
    expect(await runManage(['set-group', 'stis-team', '--instruments', 'stis', '--members', 'dave'], env)).toEqual({
      code: 0,
      out: expect.stringContaining("group 'stis-team' submits for stis"),
    });
    const dave = (await open.db.models.User.findOne({ where: { username: 'dave' } }))!;
    expect(await maySubmitFor(open.db, dave, 'stis')).toBe(true);
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
