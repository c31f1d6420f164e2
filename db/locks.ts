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
    // A concurrent taker loses on the unique (type, name) index and sees a clear error.
    try {
      return await InstrumentLock.create({ type, name, username: req.username, createdOn: now, expiresAt }, { transaction });
    } catch (err) {
      if ((err as Error).name === 'SequelizeUniqueConstraintError') throw new LockedError(type, name, 'another user');
      throw err;
    }
  });
}

/** Releases every lock the user holds (logout, confirm). Returns how many. */
export async function releaseLocks(db: Database, username: string): Promise<number> {
  return db.models.InstrumentLock.destroy({ where: { username } });
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
