// The submission workflow's side effects (workflows/submission.ts), one module per concern:
// ingest, certify, rules (new rmaps at submit), contexts (decision and confirm under the
// context-generation lock), delivery and the archive watch, and the stored results. Each is
// idempotent: a re-run after a crash finds its own earlier work (links already made, rows
// already written, names and the delivery id already drawn, recorded in submission_records)
// and finishes it.
import { saveSubmissionResult } from '../../db/submission-results';
import type { SubmissionProgress } from '../../workflows/submission-types';
import type { SubmissionActivityDeps } from './common';
import { createCertifyActivities } from './certify';
import { createContextActivities } from './contexts';
import { createDeliveryActivities } from './delivery';
import { createIngestActivities } from './ingest';
import { createKindActivities } from './kinds';
import { createRulesActivities } from './rules';

export { SUBMISSION_ERROR, userError, submissionPaths, catalogName, catalogState, CATALOG_SUFFIXES, type SubmissionActivityDeps } from './common';
export { differenceLine } from './rules';

export function createSubmissionActivities(deps: SubmissionActivityDeps) {
  return {
    ...createIngestActivities(deps),
    ...createCertifyActivities(deps),
    ...createRulesActivities(deps),
    ...createContextActivities(deps),
    ...createKindActivities(deps),
    ...createDeliveryActivities(deps),
    /** The result as it stands when a stage ends (the original's repeatable result, §4.9). */
    async saveSubmissionResult(input: { progress: SubmissionProgress }): Promise<void> {
      await saveSubmissionResult(deps.db, input.progress);
    },
  };
}

export type SubmissionActivities = ReturnType<typeof createSubmissionActivities>;
