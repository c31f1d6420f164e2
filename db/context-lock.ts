// The site-wide context-generation lock (crds-protocol.md §8.1 "type=context, name=all"): one
// confirmation at a time makes imaps and a pmap from the context in force and delivers them,
// whatever the instrument. A row of instrument_locks with a lease: its holder (a submission)
// renews it while it works; a holder that dies stops renewing, and the next confirm takes the
// lock once the lease has run out. Never held in process memory, so any worker may take it.
import type { Transaction } from 'sequelize';
import type { Database } from './index';
import { acquireLock, LockedError } from './locks';

export const CONTEXT_LOCK = { type: 'context', name: 'all' } as const;

/** The holder name of a submission (the lock's `username` column). */
export const contextLockHolder = (submissionId: string): string => `submission:${submissionId}`;

/** Takes or renews the lock for `holder`; the current holder's name when someone else has it. */
export async function takeContextLock(db: Database, holder: string, leaseMs: number): Promise<{ taken: true } | { taken: false; holder: string }> {
  try {
    await acquireLock(db, { ...CONTEXT_LOCK, username: holder, maxAgeMs: leaseMs });
    return { taken: true };
  } catch (err) {
    if (err instanceof LockedError) return { taken: false, holder: err.holder };
    throw err;
  }
}

/**
 * Inside the transaction that commits a holder's work: true when the lock is still the
 * holder's (a lease that ran out while nobody took the lock still counts: taking it replaces
 * the row's holder), and its lease is renewed. The row stays locked until that transaction
 * ends, so nobody takes the lock between this check and the commit.
 */
export async function stillHoldsContextLock(db: Database, holder: string, leaseMs: number, transaction: Transaction): Promise<boolean> {
  const row = await db.models.InstrumentLock.findOne({ where: { ...CONTEXT_LOCK }, transaction, lock: transaction.LOCK.UPDATE });
  if (!row || row.username !== holder) return false;
  await row.update({ expiresAt: new Date(Date.now() + leaseMs) }, { transaction });
  return true;
}

export async function releaseContextLock(db: Database, holder: string): Promise<void> {
  await db.models.InstrumentLock.destroy({ where: { ...CONTEXT_LOCK, username: holder } });
}
