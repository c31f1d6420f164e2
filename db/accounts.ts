// Accounts: users, their passwords and the groups that say which instruments they may
// submit for. Passwords are stored only as scrypt hashes (a memory-hard key-derivation
// function from Node's crypto), in a self-describing string so parameters can grow later.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Database } from './index';
import type { GroupRow, UserRow } from './models';
import { endUserWebSessions } from './web-sessions';
import { passwordHashing } from './password-gate';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, keylen: 32 };
const MIN_PASSWORD_LENGTH = 8;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return passwordHashing.run(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scryptCallback(password, salt, keylen, { ...options, maxmem: 128 * options.N! * options.r! * 2 }, (err, key) =>
          err ? reject(err) : resolve(key),
        ),
      ),
  );
}

/** `scrypt$N$r$p$<salt b64>$<hash b64>` */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH) throw new AccountError(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parts = (stored ?? '').split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(password, salt, expected.length, { N, r, p });
  return timingSafeEqual(key, expected);
}

export class AccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountError';
  }
}

/**
 * User names as the original allowed, plus dots and digits; `$` is reserved by locks, and a
 * leading dot is refused because a user's name is also the name of their ingest folder.
 */
const USERNAME = /^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,149}$/;

export interface NewUser {
  username: string;
  password?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  isSuperuser?: boolean;
}

export async function createUser(db: Database, user: NewUser): Promise<UserRow> {
  if (!USERNAME.test(user.username)) {
    throw new AccountError(`user name ${JSON.stringify(user.username)} is not valid: use letters, digits and _ . @ + -`);
  }
  if (await db.models.User.findOne({ where: { username: user.username } })) {
    throw new AccountError(`user '${user.username}' already exists`);
  }
  return db.models.User.create({
    username: user.username,
    email: user.email ?? '',
    firstName: user.firstName ?? '',
    lastName: user.lastName ?? '',
    isSuperuser: user.isSuperuser ?? false,
    passwordHash: user.password === undefined ? null : await hashPassword(user.password),
  });
}

export async function setPassword(db: Database, username: string, password: string): Promise<void> {
  const user = await db.models.User.findOne({ where: { username } });
  if (!user) throw new AccountError(`no user '${username}'`);
  await user.update({ passwordHash: await hashPassword(password) });
  // Every session opened with the old password ends now, in every web process.
  await endUserWebSessions(db, username);
}

/** The active user with this name and password, or null (never says which was wrong). */
export async function authenticate(db: Database, username: string, password: string): Promise<UserRow | null> {
  const user = await db.models.User.findOne({ where: { username, isActive: true } });
  // Hash even for an unknown user, so timing does not tell which names exist.
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
  return user && ok ? user : null;
}
const DUMMY_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

/** Creates the group, or updates its instruments; then adds the users to it. */
export async function setGroup(db: Database, name: string, instruments: string[], usernames: string[] = []): Promise<GroupRow> {
  const normalized = instruments.map((i) => i.trim().toLowerCase()).filter(Boolean);
  const [group] = await db.models.Group.findOrCreate({ where: { name }, defaults: { name, instruments: normalized } });
  if (JSON.stringify(group.instruments) !== JSON.stringify(normalized)) await group.update({ instruments: normalized });
  for (const username of usernames) {
    const user = await db.models.User.findOne({ where: { username } });
    if (!user) throw new AccountError(`no user '${username}'`);
    await db.models.UserGroup.findOrCreate({ where: { userId: user.id, groupId: group.id } });
  }
  return group;
}

/** The instruments a user may submit for: every one for a superuser, else their groups'. */
export async function submittableInstruments(db: Database, user: UserRow): Promise<'*' | string[]> {
  if (user.isSuperuser) return '*';
  const memberships = await db.models.UserGroup.findAll({ where: { userId: user.id } });
  const groups = await db.models.Group.findAll({ where: { id: memberships.map((m) => m.groupId) } });
  const instruments = new Set(groups.flatMap((g) => g.instruments));
  return instruments.has('*') ? '*' : [...instruments].sort();
}

export async function maySubmitFor(db: Database, user: UserRow, instrument: string): Promise<boolean> {
  const allowed = await submittableInstruments(db, user);
  return allowed === '*' || allowed.includes(instrument.toLowerCase());
}
