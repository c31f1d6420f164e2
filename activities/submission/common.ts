// What every submission activity shares (activities/submission/*): its dependencies, the
// user-error type, where a site keeps a submission's files, and file helpers that find
// their own earlier work (a re-run after a crash finishes what the first run started).
// User errors (a file fails certify, a name clash) are non-retryable failures of type
// SubmissionError with a message for the submitter; anything else retries, with a bound.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { Config } from '../../config';
import type { Database } from '../../db';
import { referenceKeywords, type ReferenceKeywords } from '../../crds/reference-header';
import type { DeliveryState } from '../../workflows/submission-types';

export interface SubmissionActivityDeps {
  db: Database;
  config: Config;
  /** Type specs and certify constraints: <specsRoot>/<obs>/{specs,tpns}. */
  specsRoot: string;
}

export const SUBMISSION_ERROR = 'SubmissionError';

/** A problem of the submission itself: reported to the submitter, never retried. */
export function userError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, SUBMISSION_ERROR);
}

/** Where a site keeps a submission's files (crds-protocol.md §6). */
export function submissionPaths(config: Config, observatory: string) {
  return {
    ingest: (username: string) => path.join(config.serverFiles, 'ingest', username),
    submission: (submissionId: string) => path.join(config.serverFiles, 'submissions', submissionId),
    deliveries: path.join(config.serverFiles, 'deliveries'),
    catalogs: path.join(config.serverFiles, 'catalogs'),
    mappings: path.join(config.fileCache, 'mappings', observatory),
    references: path.join(config.fileCache, 'references', observatory),
  };
}

/** HST catalogs are `opus_<id>_i.cat` (i = insert); other observatories `<obs>_<id>.cat`. */
export function catalogName(observatory: string, deliveryId: number): string {
  return observatory === 'hst' ? `opus_${deliveryId}_i.cat` : `${observatory}_${deliveryId}.cat`;
}

/** The archive's renames of a delivery catalog and the file state each means (§6). */
export const CATALOG_SUFFIXES: [string, DeliveryState][] = [
  ['', 'delivered'],
  ['_SUBMIT', 'submitted'],
  ['_submit', 'submitted'],
  ['_PROC', 'archiving'],
  ['_proc', 'archiving'],
  ['_ERROR', 'archiving-failed'],
  ['_error', 'archiving-failed'],
];

/** interpret_catalog_link: which name of the catalog exists in the delivery folder; none = archived. */
export function catalogState(deliveriesDir: string, catalog: string): DeliveryState {
  for (const [suffix, state] of CATALOG_SUFFIXES) if (fs.existsSync(path.join(deliveriesDir, catalog + suffix))) return state;
  return 'archived';
}

/** Hard link `from` → `to`; an existing `to` that is the same file is fine (a re-run). */
export function linkOnce(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const [a, b] = [fs.statSync(from), fs.statSync(to)];
    if (a.ino !== b.ino || a.dev !== b.dev) throw new Error(`'${to}' already exists and is another file than '${from}'`);
  }
}

/** Writes a file whole or not at all (temporary name, then rename). */
export function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o444 });
  fs.renameSync(tmp, file);
}

/** The activity's cancellation signal, or undefined outside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

export function heartbeat(details?: unknown): void {
  // Activities run outside a Temporal context in unit use; heartbeats only matter inside.
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity */
  }
}


/** A submitted reference's keywords (FITS, ASDF, JSON or YAML); unreadable is the submitter's problem. */
export function keywordsOf(file: string): ReferenceKeywords {
  try {
    return referenceKeywords(file);
  } catch (err) {
    throw userError(`Cannot read the header of '${path.basename(file)}': ${(err as Error).message}`);
  }
}

// (instrument, filekind) of an uploaded reference, as certify types it.
export { referenceKind } from '../reference-names';
