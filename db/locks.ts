// Instrument locks: one holder per (type, name) resource, with a lease that expires.
// An expired lock can be taken by anyone; clearing expired rows is housekeeping done by
// the `clear-expired-locks` schedule (the original server's cron job).
import { Op } from 'sequelize';
import type { Database } from './index';
import type { InstrumentLockRow } from './models';

/** The original server's lock lease: 4 hours, refreshed by the holder's activity. */
export const LOCK_MAX_AGE_MS = 4 * 60 * 60 * 1000;

export class LockedError extends Error {
  constructor(
    readonly type: string,
    readonly resource: string,
    readonly holder: string,
  ) {
    super(`User '${holder}' has already locked ${type} '${resource}'.`);
    this.name = 'LockedError';
  }
}

export interface LockRequest {
  type?: string; // default 'instrument'
  name: string;
  username: string;
  maxAgeMs?: number;
  now?: Date;
}

/** Takes (or renews) a lock atomically; throws LockedError while another user holds it. */
export async function acquireLock(db: Database, req: LockRequest): Promise<InstrumentLockRow> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await takeLock(db, req);
    } catch (err) {
      // Two takers of a free lock collide: on MySQL/MariaDB their gap locks deadlock, or one
      // loses on the unique (type, name) index. Try again to meet the winner's row and name it.
      const name = (err as Error).name;
      const code = (err as { parent?: { code?: string } }).parent?.code;
      const collided = name === 'SequelizeUniqueConstraintError' || code === 'ER_LOCK_DEADLOCK' || code === 'SQLITE_BUSY';
      if (collided && attempt < 5) continue;
      if (name === 'SequelizeUniqueConstraintError') throw new LockedError(req.type ?? 'instrument', req.name.toLowerCase(), 'another user');
      throw err;
    }
  }
}

function takeLock(db: Database, req: LockRequest): Promise<InstrumentLockRow> {
  const type = req.type ?? 'instrument';
  const name = req.name.toLowerCase();
  const now = req.now ?? new Date();
  const expiresAt = new Date(now.getTime() + (req.maxAgeMs ?? LOCK_MAX_AGE_MS));
  const { InstrumentLock } = db.models;
  return db.sequelize.transaction(async (transaction) => {
    const held = await InstrumentLock.findOne({ where: { type, name }, transaction, lock: transaction.LOCK.UPDATE });
    if (held && held.expiresAt > now && held.username !== req.username) {
      throw new LockedError(type, name, held.username);
    }
    if (held && held.username === req.username && held.expiresAt > now) {
      return held.update({ expiresAt }, { transaction });
    }
    if (held) await held.destroy({ transaction });
    // Whole seconds: what a DATETIME column keeps, so lockId() is the same before and after a read.
    const createdOn = new Date(Math.floor(now.getTime() / 1000) * 1000);
    return InstrumentLock.create({ type, name, username: req.username, createdOn, expiresAt }, { transaction });
  });
}

/** Releases every lock the user holds (logout, confirm). Returns how many. */
export async function releaseLocks(db: Database, username: string): Promise<number> {
  return db.models.InstrumentLock.destroy({ where: { username } });
}

/**
 * Extends the lease of every unexpired lock the user holds, as the original's
 * ResetLockExpirationMiddleware did on each interactive request. An expired lock is not
 * revived: someone else may have a right to it by now.
 */
export async function renewLocks(db: Database, username: string, now: Date = new Date(), maxAgeMs = LOCK_MAX_AGE_MS): Promise<number> {
  // A lease renewed within the last minute is left alone: the statement then changes no row,
  // so the database commits nothing to disk. A chunked upload makes a request every few
  // milliseconds, and a durable write for each would cost more than the chunk itself.
  const [count] = await db.models.InstrumentLock.update(
    { expiresAt: new Date(now.getTime() + maxAgeMs) },
    { where: { username, expiresAt: { [Op.gt]: now, [Op.lt]: new Date(now.getTime() + maxAgeMs - RENEW_EVERY_MS) } } },
  );
  return count;
}

/** How stale a lease may get before a request renews it. */
const RENEW_EVERY_MS = 60_000;

/** The user's lock of this type (expired or not, the newest), or null. */
export async function findLock(db: Database, username: string, type = 'instrument'): Promise<InstrumentLockRow | null> {
  return db.models.InstrumentLock.findOne({ where: { username, type }, order: [['createdOn', 'DESC']] });
}

/**
 * The original's lock_id, "<type> - <name> - <user> - <created ISO>": saved with a submission
 * and compared at confirm, so a lock dropped and re-taken in between counts as broken.
 */
export function lockId(lock: Pick<InstrumentLockRow, 'type' | 'name' | 'username' | 'createdOn'>): string {
  return `${lock.type} - ${lock.name} - ${lock.username} - ${lock.createdOn.toISOString()}`;
}

export interface ClearedLock {
  type: string;
  name: string;
  username: string;
  expiresAt: string;
}

/**
 * Deletes the locks whose lease ended at or before `now` and writes one audit record per
 * lock, in one transaction: re-running it after a crash finds nothing left to do twice.
 */
export async function clearExpiredLocks(db: Database, now: Date = new Date()): Promise<ClearedLock[]> {
  const { InstrumentLock, AuditRecord } = db.models;
  return db.sequelize.transaction(async (transaction) => {
    const expired = await InstrumentLock.findAll({
      where: { expiresAt: { [Op.lte]: now } },
      order: [['id', 'ASC']],
      transaction,
      lock: transaction.LOCK.UPDATE,
    });
    if (expired.length === 0) return [];
    await InstrumentLock.destroy({ where: { id: expired.map((l) => l.id) }, transaction });
    const cleared = expired.map((l) => ({
      type: l.type,
      name: l.name,
      username: l.username,
      expiresAt: l.expiresAt.toISOString(),
    }));
    await AuditRecord.bulkCreate(
      cleared.map((l) => ({
        date: now,
        username: 'crds-server',
        action: 'clear expired lock',
        instrument: l.type === 'instrument' ? l.name : '',
        why: `lock held by '${l.username}' expired at ${l.expiresAt}`,
        details: { ...l },
      })),
      { transaction },
    );
    return cleared;
  });
}
