// Affected datasets of a context change as one durable workflow (crds-protocol.md §7, the
// original's monitor_reprocessing cron + `crds bestrefs --affected-datasets`): plan, then
// the batches as separate activities (any worker takes any; a dead worker's batch is retried
// elsewhere after its heartbeat times out), then merge, results folder, catalog and mail.
// The same computation runs as a preview before activation (its own workflow id, no folder,
// no catalog row, no mail). `progress` is a query for pages and Temporal UI.
// monitorReprocessingWorkflow is the schedule's: it starts the workflow for a change of the
// operational context made by any means, once per transition.
import {
  defineQuery,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AffectedActivities, AffectedInput, AffectedOutcome, BatchSummary, DatasetBatch } from '../activities/affected';
import type { TypeCounts } from '../db/affected-runs';
import type { TransitionPlan } from '../crds/affected';
import { userMetadata } from './metadata';
import { AFFECTED_PROGRESS_QUERY, affectedWorkflowId, CRDS_NEW_CONTEXT, CRDS_OBSERVATORY_KEY, CRDS_OLD_CONTEXT, type AffectedProgress } from './affected-types';

export const affectedProgressQuery = defineQuery<AffectedProgress>(AFFECTED_PROGRESS_QUERY);

const retry = { initialInterval: '1 second', maximumInterval: '30 seconds' } as const;
const planning = proxyActivities<AffectedActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '2 minutes', retry });
// A batch heartbeats every thousand datasets: a killed worker's batch is retried within 20 s.
const batches = proxyActivities<AffectedActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '20 seconds', retry });
const finishing = proxyActivities<AffectedActivities>({ startToCloseTimeout: '30 minutes', retry });
const mail = proxyActivities<AffectedActivities>({ startToCloseTimeout: '1 minute', retry: { ...retry, maximumAttempts: 5 } });

function addInto(into: TypeCounts, more: TypeCounts): void {
  for (const [instrument, types] of Object.entries(more)) {
    const row = (into[instrument] ??= {});
    for (const [type, n] of Object.entries(types)) row[type] = (row[type] ?? 0) + n;
  }
}

export async function affectedDatasetsWorkflow(input: AffectedInput): Promise<AffectedOutcome> {
  const info = workflowInfo();
  const startedMs = info.startTime.getTime();
  const runKey = `${info.workflowId}/${info.runId}`;
  const progress: AffectedProgress = {
    workflowId: info.workflowId,
    runId: info.runId,
    kind: input.kind,
    oldContext: input.oldContext,
    newContext: input.newContext,
    status: 'planning',
    startedMs,
    elapsedMs: 0,
    batchesTotal: 0,
    batchesDone: 0,
    datasetsTotal: 0,
    datasetsDone: 0,
    datasetsPerSecond: 0,
    affectedSoFar: 0,
    errorsSoFar: 0,
    counts: {},
    workers: {},
  };
  setHandler(affectedProgressQuery, () => ({ ...progress, elapsedMs: Date.now() - startedMs }));
  upsertSearchAttributes({ CrdsOldContext: [input.oldContext], CrdsNewContext: [input.newContext], CrdsObservatory: [input.observatory] });
  try {
    const planned = await planning.affectedPlan({ ...input, runKey, workflowId: info.workflowId });
    const plan: TransitionPlan = planned.plan;
    progress.plan = { affected: plan.affected, since: plan.since, allDatesReason: plan.allDatesReason };
    progress.datasetsTotal = planned.datasets;
    progress.batchesTotal = planned.batches.length;
    progress.reusedFrom = planned.reuseRunKey;
    progress.status = 'computing';
    const computeStarted = Date.now();
    const queue: DatasetBatch[] = [...planned.batches];
    const runOne = async (): Promise<void> => {
      for (let batch = queue.shift(); batch; batch = queue.shift()) {
        const s: BatchSummary = await batches.affectedBatch({ runKey, oldContext: input.oldContext, newContext: input.newContext, plan, batch });
        progress.batchesDone++;
        progress.datasetsDone += s.datasets;
        progress.affectedSoFar += s.affected;
        progress.errorsSoFar += s.errors;
        progress.workers[s.worker] = (progress.workers[s.worker] ?? 0) + 1;
        addInto(progress.counts, s.counts);
        const seconds = (Date.now() - computeStarted) / 1000;
        progress.datasetsPerSecond = seconds > 0 ? Math.round(progress.datasetsDone / seconds) : 0;
      }
    };
    const lanes = Math.max(1, Math.min(input.parallelism ?? 8, planned.batches.length));
    await Promise.all(Array.from({ length: lanes }, runOne));
    progress.status = 'finishing';
    const outcome = await finishing.affectedFinish({
      runKey,
      kind: input.kind,
      oldContext: input.oldContext,
      newContext: input.newContext,
      startedMs,
      plan,
      reuseRunKey: planned.reuseRunKey,
    });
    progress.outcome = outcome;
    progress.counts = outcome.counts;
    progress.datasetsDone = outcome.datasets;
    if (input.kind === 'activation') {
      const sent = await mail.sendAffectedMail({ workflowId: info.workflowId, oldContext: input.oldContext, newContext: input.newContext, outcome });
      progress.mailed = sent.sent;
    }
    progress.status = 'completed';
    return outcome;
  } catch (err) {
    progress.status = 'failed';
    progress.failure = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    await finishing.affectedFailed({ runKey, message: progress.failure });
    throw err;
  }
}

/**
 * The monitor_reprocessing cron: when the operational context differs from the last one
 * handled, runs the transition's workflow (its id is the transition's: if set-context already
 * started it, this joins nothing and starts nothing), then remembers the context.
 */
export async function monitorReprocessingWorkflow(): Promise<{ started?: string; operational: string }> {
  const { operational, lastHandled } = await planning.reprocessingCheck();
  if (!operational || operational === lastHandled) return { operational };
  let started: string | undefined;
  if (lastHandled) {
    const observatory = operational.split('_')[0];
    const workflowId = affectedWorkflowId(observatory, lastHandled, operational, 'activation');
    try {
      // Started, not awaited: the run outlives this check (and its schedule's timeout).
      await startChild(affectedDatasetsWorkflow, {
        workflowId,
        args: [{ observatory, oldContext: lastHandled, newContext: operational, kind: 'activation', requestedBy: 'monitor-reprocessing', reusePreview: true }],
        ...userMetadata({ what: `affected datasets activation: ${lastHandled} → ${operational}`, who: 'schedule monitor-reprocessing', contexts: [lastHandled, operational] }),
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: CRDS_OLD_CONTEXT, value: lastHandled },
          { key: CRDS_NEW_CONTEXT, value: operational },
          { key: CRDS_OBSERVATORY_KEY, value: observatory },
        ],
      });
      started = workflowId;
    } catch (err) {
      // Already run (or running) for this transition, by set-context or an earlier check.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
        if (!(err instanceof Error && /already started|AlreadyStarted/i.test(err.message))) throw err;
      }
    }
  }
  await planning.reprocessingHandled({ context: operational });
  return { started, operational };
}

