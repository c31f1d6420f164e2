// Temporal Schedules that replace the original server's cron jobs. Created idempotently
// at worker start: an existing schedule is updated to the current definition, never
// duplicated, and an operator's pause in Temporal UI is kept.
import type { Duration } from '@temporalio/common';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../config';
import { userMetadata } from '../workflows/metadata';

export interface ScheduleDefinition {
  scheduleId: string;
  workflowType: string;
  /** An interval, or (below) a time of day. */
  every?: Duration;
  /** Every day at this time, site time (ensureSchedules' timezone). */
  dailyAt?: { hour: number; minute: number };
  memo: string;
  /** Created only on sites where this holds (ensureSchedules' config); none: everywhere. */
  enabled?: (config: Config) => boolean;
  /** A run's time limit; default 10 minutes. */
  timeout?: Duration;
}

/** One row per periodic job. */
export const SCHEDULES: ScheduleDefinition[] = [
  {
    scheduleId: 'clear-expired-locks',
    workflowType: 'clearExpiredLocksWorkflow',
    every: '5 minutes',
    memo: 'Deletes expired instrument locks (the original clear_expired_locks cron, every 5 minutes).',
  },
  {
    scheduleId: 'nightly',
    workflowType: 'nightlyWorkflow',
    dailyAt: { hour: 3, minute: 5 },
    memo: 'Backup, consistency checks, self-test and diagnostics mail (the original nightly.cron.job, 03:05 site time).',
    timeout: '12 hours',
  },
  {
    scheduleId: 'sync-ops-to-grp',
    workflowType: 'syncOpsToGrpWorkflow',
    every: '10 minutes',
    memo: 'Publishes the available files, then server_config, into the read-only cache CRDS_PUBLISH_DIR (the original sync_ops_to_grp cron, every 10 minutes).',
    enabled: (config) => config.publishDir !== undefined,
    // The first publish of a large site copies every reference; later ones only what changed.
    timeout: '1 day',
  },
  {
    scheduleId: 'clean-abandoned-uploads',
    workflowType: 'cleanAbandonedUploadsWorkflow',
    every: '1 hour',
    memo: 'Removes partial uploads and temporaries untouched for CRDS_UPLOAD_MAX_AGE_HOURS, and expired web sessions.',
  },
  {
    scheduleId: 'monitor-reprocessing',
    workflowType: 'monitorReprocessingWorkflow',
    every: '5 minutes',
    memo: 'Starts the affected datasets run of an operational context change made by any means (the original monitor_reprocessing cron, every 5 minutes).',
  },
];

function options(def: ScheduleDefinition, taskQueue: string, timezone?: string): ScheduleOptions {
  return {
    scheduleId: def.scheduleId,
    spec: def.dailyAt
      ? { calendars: [{ hour: def.dailyAt.hour, minute: def.dailyAt.minute }], timezone }
      : { intervals: [{ every: def.every ?? '1 day' }] },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      taskQueue,
      // Runs are named <scheduleId>-<time> by Temporal: findable in Temporal UI.
      workflowId: def.scheduleId,
      workflowExecutionTimeout: def.timeout ?? '10 minutes',
      ...userMetadata({ what: `${def.scheduleId} (${def.dailyAt ? `daily at ${String(def.dailyAt.hour).padStart(2, '0')}:${String(def.dailyAt.minute).padStart(2, '0')}` : `every ${String(def.every)}`})`, who: `schedule ${def.scheduleId}`, more: { Does: def.memo } }),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    memo: { description: def.memo },
  };
}

export type ScheduleOutcome = 'created' | 'updated' | 'deleted';

/**
 * Creates every schedule, or brings an existing one up to date. Schedules with an `enabled`
 * condition are created only when `config` satisfies it, and deleted when it no longer does;
 * without `config` they are left alone. Times of day are in the config's site time zone.
 */
export async function ensureSchedules(client: Client, taskQueue: string, config?: Config): Promise<Record<string, ScheduleOutcome>> {
  const outcome: Record<string, ScheduleOutcome> = {};
  for (const def of SCHEDULES) {
    if (def.enabled) {
      if (!config) continue;
      if (!def.enabled(config)) {
        const gone = await client.schedule.getHandle(def.scheduleId).delete().then(() => true, () => false);
        if (gone) outcome[def.scheduleId] = 'deleted';
        continue;
      }
    }
    const opts = options(def, taskQueue, config?.ops.timezone);
    try {
      await client.schedule.create(opts);
      outcome[def.scheduleId] = 'created';
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(def.scheduleId).update((previous) => ({
        ...previous,
        spec: opts.spec,
        action: { ...previous.action, ...opts.action } as typeof previous.action,
        policies: { ...previous.policies, ...opts.policies },
      }));
      outcome[def.scheduleId] = 'updated';
    }
  }
  return outcome;
}
