// Starting and following affected-datasets runs through Temporal, for the web pages and
// ops/manage: an activation's workflow id is its transition's (a second start joins the first,
// and a finished one is never run again unless a re-run is asked); a preview runs again only
// when the dataset catalog changed since its last finished run.
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Database } from '../db';
import { getRun, listRuns, setReprocessingState, type RunKind, type RunRow } from '../db/affected-runs';
import { datasetCatalogStamp } from '../db/datasets';
import type { AffectedInput } from '../activities/affected';
import { userMetadata } from '../workflows/metadata';
import {
  AFFECTED_PROGRESS_QUERY,
  AFFECTED_WORKFLOW_TYPE,
  affectedWorkflowId,
  CRDS_NEW_CONTEXT,
  CRDS_OBSERVATORY_KEY,
  CRDS_OLD_CONTEXT,
  type AffectedProgress,
} from '../workflows/affected-types';

export interface AffectedServiceDeps {
  client: () => Promise<Client>;
  config: Config;
  db: Database;
  /** Batches in flight per run, datasets per batch (defaults of the workflow). */
  parallelism?: number;
  batchSize?: number;
}

export function createAffectedService(deps: AffectedServiceDeps) {
  const { config, db } = deps;

  async function start(kind: RunKind, oldContext: string, newContext: string, requestedBy: string, rerun = false): Promise<string> {
    const workflowId = affectedWorkflowId(config.observatory, oldContext, newContext, kind);
    const input: AffectedInput = {
      observatory: config.observatory,
      oldContext,
      newContext,
      kind,
      requestedBy,
      // A re-run computes again; a first activation takes an up-to-date preview's result.
      reusePreview: kind === 'activation' && !rerun,
      parallelism: deps.parallelism,
      batchSize: deps.batchSize,
    };
    const client = await deps.client();
    try {
      await client.workflow.start(AFFECTED_WORKFLOW_TYPE, {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        args: [input],
        ...userMetadata({ what: `affected datasets ${kind}: ${oldContext} → ${newContext}`, who: requestedBy, contexts: [oldContext, newContext] }),
        // One run per transition, ever, unless asked again; previews re-run when data changed.
        workflowIdReusePolicy: kind === 'preview' || rerun ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: CRDS_OLD_CONTEXT, value: oldContext },
          { key: CRDS_NEW_CONTEXT, value: newContext },
          { key: CRDS_OBSERVATORY_KEY, value: config.observatory },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return workflowId;
  }

  return {
    /** The activation's run (started by set-context); the monitor then has nothing to do. */
    async startActivation(oldContext: string, newContext: string, requestedBy: string, rerun = false): Promise<string> {
      const id = await start('activation', oldContext, newContext, requestedBy, rerun);
      await setReprocessingState(db, 'last_operational_context', newContext);
      return id;
    },

    /**
     * An operator's re-run of a transition already computed (after a fix to the dataset catalog
     * or the rules engine): a new run under the transition's workflow id. The monitor's record
     * of the operational context is left as it is. Undefined when the transition never ran.
     */
    async startRerun(oldContext: string, newContext: string, requestedBy: string): Promise<string | undefined> {
      const [earlier] = await listRuns(db, { kind: 'activation', oldContext, newContext, limit: 1 });
      if (!earlier) return undefined;
      return start('activation', oldContext, newContext, requestedBy, true);
    },

    /** A preview, unless a finished one of the same transition read the same datasets. */
    async startPreview(oldContext: string, newContext: string, requestedBy: string): Promise<{ workflowId: string; reused: boolean }> {
      const workflowId = affectedWorkflowId(config.observatory, oldContext, newContext, 'preview');
      const [last] = await listRuns(db, { kind: 'preview', oldContext, newContext, status: 'completed', limit: 1 });
      if (last && last.catalogStamp === (await datasetCatalogStamp(db))) return { workflowId, reused: true };
      return { workflowId: await start('preview', oldContext, newContext, requestedBy), reused: false };
    },

    /** The run's progress: its workflow's query, or the stored run once the workflow is gone. */
    async progress(workflowId: string): Promise<AffectedProgress | RunRow | undefined> {
      try {
        const client = await deps.client();
        return await client.connection.withDeadline(Date.now() + 5000, () => client.workflow.getHandle(workflowId).query<AffectedProgress>(AFFECTED_PROGRESS_QUERY));
      } catch (err) {
        // Gone from Temporal (retention), unreachable, or slow: answer from the catalog.
        void (err instanceof WorkflowNotFoundError);
        const [run] = await listRuns(db, { workflowId, limit: 1 });
        return run;
      }
    },

    getRun: (runKey: string) => getRun(db, runKey),
  };
}

export type AffectedService = ReturnType<typeof createAffectedService>;
