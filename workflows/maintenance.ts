// Maintenance workflows run by Temporal Schedules (the original server's cron jobs).
import { log, proxyActivities } from '@temporalio/workflow';
import type { LockActivities, ClearExpiredLocksResult } from '../activities/locks';

const { clearExpiredLocks } = proxyActivities<LockActivities>({
  // A crashed worker's attempt is retried by another after this long.
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds' },
});

/** `clear-expired-locks` schedule, every 5 minutes. */
export async function clearExpiredLocksWorkflow(): Promise<ClearExpiredLocksResult> {
  const result = await clearExpiredLocks();
  log.info('cleared expired locks', { count: result.cleared.length });
  return result;
}
