// Web sessions kept in the database (table web_sessions, migration 0013). The cookie holds a
// random 256-bit key; the table keeps only its SHA-256, so a copy of the database opens no
// session. Every web process sees the same rows: logout in one ends the session in all.
import { createHash, randomBytes } from 'node:crypto';
import { DataTypes, Op, type Model, type ModelStatic } from 'sequelize';
import type { Database } from './index';

export interface WebSessionRow extends Model {
  keyHash: string;
  username: string;
  instrument: string;
  lockId: string | null;
  auth: string;
  jpollKey: string | null;
  createdAt: Date;
  lastSeenAt: Date;
}

function model(db: Database): ModelStatic<WebSessionRow> {
  const existing = db.sequelize.models.WebSession as ModelStatic<WebSessionRow> | undefined;
  return (
    existing ??
    db.sequelize.define<WebSessionRow>(
      'WebSession',
      {
        keyHash: { type: DataTypes.CHAR(64), primaryKey: true },
        username: { type: DataTypes.STRING(150), allowNull: false },
        instrument: { type: DataTypes.STRING(32), allowNull: false },
        lockId: { type: DataTypes.STRING(255), allowNull: true },
        auth: { type: DataTypes.STRING(64), allowNull: false },
        jpollKey: { type: DataTypes.STRING(64), allowNull: true },
        createdAt: { type: DataTypes.DATE, allowNull: false },
        lastSeenAt: { type: DataTypes.DATE, allowNull: false },
      },
      { tableName: 'web_sessions', updatedAt: false, underscored: true },
    )
  );
}

const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** A digest of a password hash: a session opened under another password is not valid. */
export const passwordDigest = (passwordHash: string | null | undefined): string =>
  createHash('sha256').update(`password:${passwordHash ?? ''}`).digest('hex');

export interface NewWebSession {
  username: string;
  instrument: string;
  lockId: string | null;
  passwordHash: string | null | undefined;
}

/** Opens a session; returns the key for the cookie (never stored). */
export async function openWebSession(db: Database, session: NewWebSession, now = new Date()): Promise<{ key: string; row: WebSessionRow }> {
  const key = randomBytes(32).toString('base64url');
  const row = await model(db).create({
    keyHash: hashKey(key),
    username: session.username,
    instrument: session.instrument,
    lockId: session.lockId,
    auth: passwordDigest(session.passwordHash),
    jpollKey: null,
    createdAt: now,
    lastSeenAt: now,
  });
  return { key, row };
}

export async function findWebSession(db: Database, key: string): Promise<WebSessionRow | null> {
  return model(db).findByPk(hashKey(key));
}

export async function updateWebSession(db: Database, key: string, changes: Partial<Pick<WebSessionRow, 'jpollKey' | 'lastSeenAt'>>): Promise<void> {
  await model(db).update(changes, { where: { keyHash: hashKey(key) } });
}

/** Marks the session used now, unless it was within the last minute (no write per upload chunk). */
export async function touchWebSession(db: Database, row: WebSessionRow, now = new Date()): Promise<void> {
  if (now.getTime() - row.lastSeenAt.getTime() < TOUCH_EVERY_MS) return;
  await model(db).update({ lastSeenAt: now }, { where: { keyHash: row.keyHash } });
}
const TOUCH_EVERY_MS = 60_000;

export async function endWebSession(db: Database, key: string): Promise<void> {
  await model(db).destroy({ where: { keyHash: hashKey(key) } });
}

/** Ends every session of a user (password change, account disabled). Returns how many. */
export async function endUserWebSessions(db: Database, username: string): Promise<number> {
  return model(db).destroy({ where: { username } });
}

/** Deletes sessions idle longer than idleMs or older than maxAgeMs (housekeeping). Returns how many. */
export async function deleteExpiredWebSessions(db: Database, idleMs: number, maxAgeMs: number, now = new Date()): Promise<number> {
  return model(db).destroy({
    where: {
      [Op.or]: [{ lastSeenAt: { [Op.lt]: new Date(now.getTime() - idleMs) } }, { createdAt: { [Op.lt]: new Date(now.getTime() - maxAgeMs) } }],
    },
  });
}
