// Temporal Schedules that replace the original server's cron jobs. Created idempotently
// at worker start: an existing schedule is updated to the current definition, never
// duplicated, and an operator's pause in Temporal UI is kept.
import type { Duration } from '@temporalio/common';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';

export interface ScheduleDefinition {
  scheduleId: string;
  workflowType: string;
  every: Duration;
  memo: string;
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
    scheduleId: 'monitor-reprocessing',
    workflowType: 'monitorReprocessingWorkflow',
    every: '5 minutes',
    memo: 'Starts the affected datasets run of an operational context change made by any means (the original monitor_reprocessing cron, every 5 minutes).',
  },
];

function options(def: ScheduleDefinition, taskQueue: string): ScheduleOptions {
  return {
    scheduleId: def.scheduleId,
    spec: { intervals: [{ every: def.every }] },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      taskQueue,
      // Runs are named <scheduleId>-<time> by Temporal: findable in Temporal UI.
      workflowId: def.scheduleId,
      workflowExecutionTimeout: '10 minutes',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    memo: { description: def.memo },
  };
}

export type ScheduleOutcome = 'created' | 'updated';

/** Creates every schedule, or brings an existing one up to date. */
export async function ensureSchedules(client: Client, taskQueue: string): Promise<Record<string, ScheduleOutcome>> {
  const outcome: Record<string, ScheduleOutcome> = {};
  for (const def of SCHEDULES) {
    const opts = options(def, taskQueue);
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
