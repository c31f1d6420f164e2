// What a submitted reference is and what it will be called (crds-protocol.md §4.8, §5.4
// step 6): its (instrument, type) as certify determines it, from its name or else its header
// (HST FILETYPE/DBTABLE/CDBSFILE translated through the type specs, as the real library does),
// and its new name with auto-rename: CDBS-style time-based for HST (uniqname), a serial CRDS
// name (`<obs>_<instr>_<type>_NNNN.<ext>`) otherwise.
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../db';
import { assignCdbsName, assignSerialName } from '../db/submissions';
import { referenceHeaderForInsert, referenceProperties } from '../crds/certify/reference';
import { loadSpecs } from '../crds/certify/tpn';
import { CDBS_INSTRUMENT_CHARS } from '../crds/uniqname';

const SUBMISSION_ERROR = 'SubmissionError';

/** (instrument, filekind) of an uploaded reference, as certify types it; a refusal names the file. */
export function referenceKind(specsRoot: string, observatory: string, file: string): { instrument: string; filekind: string } {
  try {
    return referenceProperties(file, observatory, loadSpecs(specsRoot, observatory), () => referenceHeaderForInsert(file).raw);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `Cannot determine the instrument and type of '${path.basename(file)}': ${(err as Error).message}`,
      SUBMISSION_ERROR,
    );
  }
}

/**
 * The auto-rename name of one reference of a submission, drawn once per (submission, upload):
 * HST references of a type with a CDBS suffix get a uniqname, everything else a serial name.
 * `pending`: the names this submission already drew for its other references.
 */
export async function newReferenceName(
  deps: { db: Database; specsRoot: string },
  input: { submissionId: string; observatory: string; uploadedAs: string; instrument: string; filekind: string },
  pending: ReadonlySet<string>,
): Promise<string> {
  const ext = path.extname(input.uploadedAs).toLowerCase();
  const slot = `ref:${input.uploadedAs}`;
  if (input.observatory === 'hst' && CDBS_INSTRUMENT_CHARS[input.instrument]) {
    const suffix = loadSpecs(deps.specsRoot, 'hst').spec(input.instrument, input.filekind)?.suffix;
    if (typeof suffix === 'string' && suffix) {
      return assignCdbsName(deps.db, input.submissionId, slot, { instrument: input.instrument, suffix, ext }, new Date(), pending);
    }
  }
  return assignSerialName(deps.db, input.submissionId, slot, `${input.observatory}_${input.instrument}_${input.filekind}`, ext);
}
