// Lock housekeeping activities. Built by a factory that receives the database, so the
// worker owns the connection and tests can hand in their own.
import { clearExpiredLocks, type ClearedLock } from '../db/locks';
import type { Database } from '../db';

export interface ClearExpiredLocksResult {
  cleared: ClearedLock[];
  clearedAt: string;
}

export function createLockActivities(db: Database) {
  return {
    /** Deletes expired instrument locks and audits each; idempotent. */
    async clearExpiredLocks(): Promise<ClearExpiredLocksResult> {
      const now = new Date();
      const cleared = await clearExpiredLocks(db, now);
      return { cleared, clearedAt: now.toISOString() };
    },
  };
}

export type LockActivities = ReturnType<typeof createLockActivities>;
