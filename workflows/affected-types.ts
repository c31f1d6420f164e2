// What the web, ops/manage and the workflows share about affected-datasets runs: workflow
// ids, the progress query's name and shape, search attributes. No Temporal runtime imports
// beyond @temporalio/common, so the web can import it.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AffectedOutcome } from '../activities/affected';
import type { RunKind, TypeCounts } from '../db/affected-runs';

export const AFFECTED_WORKFLOW_TYPE = 'affectedDatasetsWorkflow';
export const AFFECTED_PROGRESS_QUERY = 'affectedProgress';

/** Registered by ops/search-attributes: find a transition's runs in Temporal UI by context. */
export const CRDS_OLD_CONTEXT = defineSearchAttributeKey('CrdsOldContext', SearchAttributeType.KEYWORD);
export const CRDS_NEW_CONTEXT = defineSearchAttributeKey('CrdsNewContext', SearchAttributeType.KEYWORD);
export const CRDS_OBSERVATORY_KEY = defineSearchAttributeKey('CrdsObservatory', SearchAttributeType.KEYWORD);

function serial(context: string): string {
  return /_(\d+)\.pmap$/.exec(context)?.[1] ?? context;
}

/** affected-<obs>-<old>-<new> for an activation, affected-preview-<obs>-<old>-<new> for a preview. */
export function affectedWorkflowId(observatory: string, oldContext: string, newContext: string, kind: RunKind): string {
  return `affected-${kind === 'preview' ? 'preview-' : ''}${observatory}-${serial(oldContext)}-${serial(newContext)}`;
}

export interface AffectedProgress {
  workflowId: string;
  runId: string;
  kind: RunKind;
  oldContext: string;
  newContext: string;
  status: 'planning' | 'computing' | 'finishing' | 'completed' | 'failed';
  startedMs: number;
  elapsedMs: number;
  plan?: { affected: Record<string, string[]>; since: Record<string, string>; allDatesReason?: string };
  batchesTotal: number;
  batchesDone: number;
  datasetsTotal: number;
  datasetsDone: number;
  datasetsPerSecond: number;
  /** Affected datasets (compound ids) so far; the outcome counts products. */
  affectedSoFar: number;
  errorsSoFar: number;
  counts: TypeCounts;
  /** Batches done per worker (host:pid). */
  workers: Record<string, number>;
  reusedFrom?: string;
  outcome?: AffectedOutcome;
  mailed?: boolean;
  failure?: string;
}
