// The web's side of the submission workflow, through the Temporal client: start (the
// StartSubmission of web/submission-types.ts), read progress (the `progress` query), decide
// (the `decide` update) and the jpoll pull. Every call answers within seconds: none waits
// for the workflow's work, only for Temporal to accept or answer.
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Config } from '../config';
import type { Database } from '../db';
import { storedSubmissionResult } from '../db/submission-results';
import {
  ABORT_SIGNAL,
  DECIDE_UPDATE,
  FINAL_STATUSES,
  PROGRESS_QUERY,
  SUBMISSION_ID_RE,
  SUBMISSION_WORKFLOW_TYPE,
  submissionWorkflowId,
  UPLOAD_KINDS,
  type SubmissionKind,
  type DecisionResult,
  type SubmissionDecision,
  type SubmissionInput,
  type SubmissionProgress,
} from '../workflows/submission-types';
import { userMetadata } from '../workflows/metadata';
import { jpollMessages, parseSince, type JpollMessage } from './jpoll';
import { SubmissionRefused, type StartSubmission, type SubmissionRequest } from './submission-types';

/** Registered on the dev server by ops/search-attributes: find submissions in Temporal UI. */
export const CRDS_SUBMITTER = defineSearchAttributeKey('CrdsSubmitter', SearchAttributeType.KEYWORD);
export const CRDS_INSTRUMENT = defineSearchAttributeKey('CrdsInstrument', SearchAttributeType.KEYWORD);
export const CRDS_OBSERVATORY = defineSearchAttributeKey('CrdsObservatory', SearchAttributeType.KEYWORD);

/** The workflow kind of each submission page (none: batch submit, whose histories carry none). */
const WORKFLOW_KINDS: Record<SubmissionRequest['kind'], SubmissionKind | undefined> = {
  batch_submit_references: undefined,
  certify: 'certify',
  submit_reference: 'reference',
  submit_mapping: 'mapping',
  delete_references: 'delete',
  add_references: 'add',
  create_contexts: 'create_contexts',
};

/** How long a query or update may take before the page answers without it. */
const ANSWER_WITHIN_MS = 5_000;

export interface SubmissionServiceDeps {
  /** A connected client (TemporalLink.client of the web, or a test's own). */
  client: () => Promise<Client>;
  config: Config;
  /** The catalog holding the stored results (db/submission-results.ts): pages outlive the workflow's history. */
  db?: Database;
  /** Overrides for tests: READY's expiry (default the site's CRDS_SUBMISSION_EXPIRY, none) and the archive poll (30 s). */
  confirmTimeoutMs?: number;
  archivePollMs?: number;
}

/** A decision the workflow refused (already decided, broken lock, no lock): show it to the user. */
export class DecisionRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecisionRefused';
  }
}

export class ChannelNotFound extends Error {
  constructor(key: string) {
    super(`Channel key '${key}' not found.`);
    this.name = 'ChannelNotFound';
  }
}

export function createSubmissionService(deps: SubmissionServiceDeps) {
  const { config } = deps;
  const workflowId = (resultsId: string) => submissionWorkflowId(config.observatory, resultsId);
  const withDeadline = async <T>(client: Client, fn: () => Promise<T>): Promise<T> => client.connection.withDeadline(Date.now() + ANSWER_WITHIN_MS, fn);

  const startSubmission: StartSubmission = async (request: SubmissionRequest) => {
    // The session's jpoll channel names the submission, so the channel finds it and a
    // repeated POST of the same session finds the same workflow.
    const resultsId = request.jpollKey && SUBMISSION_ID_RE.test(request.jpollKey) ? request.jpollKey : randomUUID();
    const kind = WORKFLOW_KINDS[request.kind];
    if (!request.files.length && UPLOAD_KINDS.includes(kind ?? 'batch')) throw new SubmissionRefused('No input files were specified.');
    const input: SubmissionInput = {
      ...(kind ? { kind } : {}),
      ...(request.generateContexts !== undefined ? { generateContexts: request.generateContexts } : {}),
      ...(request.references ? { references: request.references } : {}),
      ...(request.rmaps ? { rmaps: request.rmaps } : {}),
      submissionId: resultsId,
      observatory: request.observatory,
      username: request.submitter.username,
      instrument: request.lock.instrument.toLowerCase(),
      lockId: request.lock.lockId,
      files: request.files.map((f) => f.name),
      pmapMode: request.pmapMode,
      pmapName: request.pmapName || undefined,
      changeLevel: request.changeLevel,
      creator: request.creator,
      description: request.description,
      autoRename: request.autoRename,
      compareOldReference: request.compareOldReference,
      resultUrl: `${config.siteUrl}/display_result/${resultsId}`,
      confirmTimeoutMs: deps.confirmTimeoutMs ?? config.submission.expiryMs,
      maxAttempts: config.submission.maxAttempts,
      archivePollMs: deps.archivePollMs,
    };
    const client = await deps.client();
    try {
      await client.workflow.start(SUBMISSION_WORKFLOW_TYPE, {
        taskQueue: config.temporal.taskQueue,
        workflowId: workflowId(resultsId),
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: CRDS_SUBMITTER, value: input.username },
          { key: CRDS_INSTRUMENT, value: input.instrument },
          { key: CRDS_OBSERVATORY, value: input.observatory },
        ],
        memo: { description: input.description },
        ...userMetadata({
          what: `submission ${resultsId} of ${input.files?.length ?? 0} file(s) for ${input.instrument}`,
          who: input.username,
          files: input.files,
          contexts: input.pmapName ? [input.pmapName] : undefined,
          more: { Observatory: input.observatory, Instrument: input.instrument, 'Context mode': input.pmapMode, Description: input.description, Result: input.resultUrl },
        }),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { resultsId, location: `/display_result/${resultsId}` };
  };

  /**
   * The submission's progress, or undefined when there is no such submission: the stored
   * result once the submission is finished (or its workflow's history is gone), else the
   * running workflow's query.
   */
  async function progress(resultsId: string): Promise<SubmissionProgress | undefined> {
    if (!SUBMISSION_ID_RE.test(resultsId)) return undefined;
    const stored = deps.db ? await storedSubmissionResult(deps.db, resultsId) : undefined;
    if (stored && FINAL_STATUSES.includes(stored.status)) return stored;
    const client = await deps.client();
    try {
      return await withDeadline(client, () => client.workflow.getHandle(workflowId(resultsId)).query<SubmissionProgress>(PROGRESS_QUERY));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return stored;
      throw err;
    }
  }

  /**
   * Confirm, cancel or force: the workflow validates who may (with the deciding user's
   * current lock) and answers at once; delivery goes on in the workflow.
   */
  async function decide(resultsId: string, decision: SubmissionDecision): Promise<DecisionResult> {
    if (!SUBMISSION_ID_RE.test(resultsId)) throw new DecisionRefused(`No submission '${resultsId}'.`);
    const client = await deps.client();
    try {
      return await withDeadline(client, () => client.workflow.getHandle(workflowId(resultsId)).executeUpdate<DecisionResult, [SubmissionDecision]>(DECIDE_UPDATE, { args: [decision] }));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new DecisionRefused(err.cause?.message ?? err.message);
      // An update to a finished workflow is refused by the server with a plain error, or
      // with NOT_FOUND "workflow execution already completed" (which the client reports as
      // WorkflowNotFoundError): look first, the workflow is there.
      // The wording varies with the server (and under load the update can race the
      // workflow's completion), so any not-found is checked against the progress query.
      if (err instanceof WorkflowNotFoundError || /workflow execution already completed/i.test(String((err as Error).message))) {
        const p = await progress(resultsId).catch(() => undefined);
        if (!p) throw new DecisionRefused(`No submission '${resultsId}'.`);
        throw new DecisionRefused(`This submission is ${p.status}${p.disposition ? ` (${p.disposition})` : ''}: nothing to ${decision.action}.`);
      }
      throw err;
    }
  }

  /** JSON-RPC jpoll_pull_messages(key, since_id). */
  async function pullMessages(key: unknown, since: unknown): Promise<JpollMessage[]> {
    const k = typeof key === 'string' ? key : '';
    const after = parseSince(since);
    if (!SUBMISSION_ID_RE.test(k)) throw new ChannelNotFound(String(key));
    if (after === undefined) throw new Error(`since_id must be a non-negative integer, not ${JSON.stringify(since)}`);
    const p = await progress(k);
    // Not started yet (the POST is still arriving): the client keeps polling on this error.
    if (!p) throw new ChannelNotFound(k);
    return jpollMessages(p, k, after);
  }

  /**
   * JSON-RPC jpoll_abort(key): asks the submission to stop at its next step (the `abort`
   * signal); what it made is removed and its channel ends with done(1, the reason). A
   * submission already confirmed, cancelled or finished is left alone.
   */
  async function abort(key: unknown): Promise<boolean> {
    const k = typeof key === 'string' ? key : '';
    if (!SUBMISSION_ID_RE.test(k)) throw new ChannelNotFound(String(key));
    const p = await progress(k);
    if (!p) throw new ChannelNotFound(k);
    if (p.disposition !== '' || !['ingesting', 'certifying', 'generating', 'ready'].includes(p.status)) return false;
    const client = await deps.client();
    await withDeadline(client, () => client.workflow.getHandle(workflowId(k)).signal(ABORT_SIGNAL));
    return true;
  }

  return { startSubmission, progress, decide, pullMessages, abort };
}

export type SubmissionService = ReturnType<typeof createSubmissionService>;
