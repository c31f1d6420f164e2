// The submission workflow's inputs, updates and progress: plain data shared by the workflow
// (deterministic code), its activities and the web. No imports, so every side may use it.

/** pmap_mode of the submission forms (docs/submission-protocol.md §5.5). */
export type PmapMode = 'pmap_edit' | 'pmap_latest' | 'pmap_operational' | 'pmap_text';

/**
 * Kinds of submission besides batch submit (crds-protocol.md §5.1, §5.4): `certify` certifies
 * the files and stops there (`/certify/`); `reference` and `mapping` are the simple submits
 * (`/submit/reference/`, `/submit/mapping/`, the latter optionally making contexts from its
 * rmaps); `delete` and `add` make new rmaps without or with existing references
 * (`/delete/reference/`, `/add_existing/reference/`); `create_contexts` makes imaps and a
 * pmap from given rmaps and delivers them at once (`/create_contexts/`, superusers).
 */
export type SubmissionKind = 'batch' | 'certify' | 'reference' | 'mapping' | 'delete' | 'add' | 'create_contexts';

/** Kinds that ingest and certify uploaded files (the others work on catalogued files). */
export const UPLOAD_KINDS: readonly SubmissionKind[] = ['batch', 'certify', 'reference', 'mapping'];

/** The audit records' action of each delivering kind, as the original named them (crds-protocol.md §4.6). */
export const AUDIT_ACTIONS: Record<Exclude<SubmissionKind, 'certify'>, string> = {
  batch: 'batch submit',
  reference: 'submit file',
  mapping: 'submit file',
  delete: 'delete references',
  add: 'add references',
  create_contexts: 'new context',
};

/** The workflow's input, made by web/submissions.ts from the web's SubmissionRequest. */
export interface SubmissionInput {
  /** What kind of submission (crds-protocol.md §5.1, §5.4); absent: a batch submission of references. */
  kind?: SubmissionKind;
  /** Chosen by the caller (the session's jpoll key or a uuid4): the results_id and the workflow ID's tail. */
  submissionId: string;
  observatory: string;
  username: string;
  /** The instrument the submitter logged in for and holds the lock of. */
  instrument: string;
  /** db/locks.ts lockId() of that lock when the submission started: confirm needs the same lock (§5.5 should_still_be_locked). */
  lockId: string;
  /** The ingest folder's files to submit (names), as listed when the form was posted; none: all of them. */
  files?: string[];
  /** `mapping`: make new imaps and a pmap from the submitted rmaps at confirm (the form's generate_contexts). */
  generateContexts?: boolean;
  /** `delete` / `add`: the catalogued references removed from or added to the context's rmaps. */
  references?: string[];
  /** `create_contexts`: the catalogued rmaps the new imaps and pmap install. */
  rmaps?: string[];
  pmapMode: PmapMode;
  /** The derivation context for pmap_text; ignored for edit/latest (resolved by the server). */
  pmapName?: string;
  changeLevel: 'SEVERE' | 'MODERATE' | 'TRIVIAL';
  creator: string;
  description: string;
  autoRename: boolean;
  compareOldReference: boolean;
  /** The absolute URL of the result page (`<site>/display_result/<submissionId>`), sent in jpoll `done` and mail. */
  resultUrl: string;
  /**
   * How long a READY submission waits for confirm/cancel/force before it cancels itself (ms),
   * the site's CRDS_SUBMISSION_EXPIRY; none (the default): it waits until someone decides.
   */
  confirmTimeoutMs?: number;
  /** How many times a step failing with a non-user error is tried before the submission fails (CRDS_SUBMISSION_ATTEMPTS). Default 8. */
  maxAttempts?: number;
  /** How often the delivery catalog is looked at while awaiting the archive (ms). Default 30 s. */
  archivePollMs?: number;
}

/** Statuses after which a submission changes no more (its stored result is the last word). */
export const FINAL_STATUSES: readonly SubmissionStatus[] = ['archived', 'cancelled', 'failed', 'certified'];

export type SubmissionStatus =
  | 'ingesting'
  | 'certifying'
  | 'generating'
  | 'ready'
  /** A certify-only submission whose files all passed (final). */
  | 'certified'
  | 'delivering'
  | 'delivered'
  | 'archiving'
  | 'archived'
  | 'cancelled'
  | 'failed';

/** File states of the catalog (crds-protocol.md §4.2) a delivery moves through. */
export type DeliveryState = 'delivered' | 'submitted' | 'archiving' | 'archiving-failed' | 'archived';

export type StepName = 'ingest' | 'certify' | 'generate' | 'confirm' | 'deliver' | 'archive' | 'mail';

export interface StepProgress {
  name: StepName;
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  startedAt?: string;
  endedAt?: string;
  detail?: string;
}

export interface CertifyFinding {
  level: 'ERROR' | 'WARNING' | 'INFO';
  message: string;
}

export interface SubmittedFile {
  /** The name it was uploaded under. */
  uploadedAs: string;
  size: number;
  sha1sum: string;
  instrument?: string;
  filekind?: string;
  /** Its CRDS name once the rules are generated. */
  name?: string;
  certify?: { errors: number; warnings: number; findings: CertifyFinding[] };
}

export interface GeneratedMapping {
  name: string;
  derivedFrom: string;
  /** Its rule differences from `derivedFrom` (crds diff, names and checksums left out), one line each. */
  differences?: string[];
  /** How many differences there were when `differences` holds only the first ones. */
  differenceCount?: number;
}

/**
 * Certify's group check of one trial rmap update (certify.check_rmap_updates): the submitted
 * references of one (instrument, type) inserted into that type's rmap of the derivation
 * context, and the result certified as a mapping.
 */
export interface GroupCheckResult {
  /** The derivation context's rmap; none when the check itself failed (type unknown, insert refused). */
  rmap?: string;
  /** The uploaded names of the references inserted. */
  references: string[];
  errors: number;
  warnings: number;
  findings: CertifyFinding[];
}

/** A line of the submission's log, in the order it happened; jpoll serves these (web/jpoll.ts). */
export interface ProgressMessage {
  id: number;
  time: string;
  type: 'log_message' | 'warning' | 'error' | 'done';
  /** Plain text, or for `done` the client's {status, result}. */
  data: string | { status: number; result: string };
}

export type Disposition = '' | 'confirmed' | 'forced' | 'cancelled' | 'timed out';

export interface SubmissionProgress {
  /** Absent for batch submissions. */
  kind?: SubmissionKind;
  submissionId: string;
  workflowId: string;
  observatory: string;
  username: string;
  instrument: string;
  description: string;
  resultUrl: string;
  status: SubmissionStatus;
  steps: StepProgress[];
  files: SubmittedFile[];
  /**
   * The derivation context (of the new rmaps, at submit), the base context the imaps and the
   * pmap were made from at confirm, and that new pmap.
   */
  context: { mode: PmapMode; derivedFrom?: string; base?: string; newContext?: string };
  /** Certify's group check over all submitted references, once every file certified. */
  groupCheck?: GroupCheckResult[];
  generated: GeneratedMapping[];
  /** Old → new names of the context chain and the rmaps, for result pages. */
  actions: string[];
  disposition: Disposition;
  decidedBy?: string;
  /** When a READY submission cancels itself (ISO). */
  confirmDeadline?: string;
  delivery?: { id: number; catalog: string; state: DeliveryState };
  /** Why it failed or was cancelled. */
  reason?: string;
  messages: ProgressMessage[];
}

/** What a person asks of a READY submission (crds-protocol.md §5.5). */
export interface SubmissionDecision {
  action: 'confirm' | 'cancel' | 'force';
  username: string;
  /** Ignored: the workflow reads the deciding user's lock from the catalog (kept for callers that still send it). */
  lock?: { instrument: string; lockId: string; expiresAt: string };
}

export interface DecisionResult {
  disposition: Disposition;
  resultUrl: string;
}

/** The workflow's final answer. */
export interface SubmissionOutcome {
  status: SubmissionStatus;
  disposition: Disposition;
  reason?: string;
  newContext?: string;
  catalog?: string;
}

export const SUBMISSION_WORKFLOW_TYPE = 'submissionWorkflow';
export const DECIDE_UPDATE = 'decide';
export const PROGRESS_QUERY = 'progress';
/** jpoll_abort(key): the submission's next step fails, as the original's next jpoll write did. */
export const ABORT_SIGNAL = 'abort';
export const ABORT_MESSAGE = 'External agent requested calling process termination.';

/** One workflow per submission: a double POST or a retry finds the same one. */
export function submissionWorkflowId(observatory: string, submissionId: string): string {
  return `submission-${observatory}-${submissionId}`;
}

/** The results_id / jpoll key rule of the real client (submission-protocol.md §6.1). */
export const SUBMISSION_ID_RE = /^[a-zA-Z0-9:.-]{1,100}$/;
