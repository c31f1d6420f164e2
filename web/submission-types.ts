// The contract between the submission pages (web/submit.ts) and whatever starts the
// submission workflow. The web checks the form, the login, the group and the lock, and
// lists the ingest folder; the starter begins the durable work and answers at once
// (docs/submission-protocol.md §5.5: reply within a few seconds, keep going if the client
// disconnects). createApp receives the starter as AppDeps.startSubmission.

/** What the real client and the page post (docs/submission-protocol.md §5.5). */
export type PmapMode = 'pmap_edit' | 'pmap_latest' | 'pmap_operational' | 'pmap_text';
export type ChangeLevel = 'SEVERE' | 'MODERATE' | 'TRIVIAL';

export interface SubmissionRequest {
  /**
   * The page it was posted to: a batch submission, certify only (`/certify/`), the simple
   * submits (`/submit/reference/`, `/submit/mapping/`), delete or add existing references,
   * or create contexts (workflows/submission-types.ts SubmissionKind).
   */
  kind: 'batch_submit_references' | 'certify' | 'submit_reference' | 'submit_mapping' | 'delete_references' | 'add_references' | 'create_contexts';
  observatory: string;
  submitter: {
    username: string;
    email: string;
    isSuperuser: boolean;
  };
  /** The instrument lock the submission was made under; confirm checks it still holds. */
  lock: {
    instrument: string;
    /** db/locks.ts lockId(): "instrument - <name> - <user> - <created ISO>". */
    lockId: string;
    createdOn: Date;
  };
  /** Absolute path of `<server files>/ingest/<user>`: every file in it is submitted. */
  ingestDir: string;
  /** The files in ingestDir when the form was posted, by name, with their sizes. */
  files: { name: string; size: number }[];
  pmapMode: PmapMode;
  /** As posted: a .pmap name (the client always sends one), '' when the page left it out. */
  pmapName: string;
  changeLevel: ChangeLevel;
  creator: string;
  description: string;
  autoRename: boolean;
  compareOldReference: boolean;
  /** `submit_mapping`: make imaps and a pmap from the submitted rmaps at confirm. */
  generateContexts?: boolean;
  /** `delete_references` / `add_references`: the catalogued references named by the form. */
  references?: string[];
  /** `create_contexts`: the catalogued rmaps named by the form. */
  rmaps?: string[];
  /** The jpoll channel most recently opened in this session, if any: progress goes there. */
  jpollKey?: string;
}

export interface SubmissionStarted {
  /** Identifies the submission's result (and is the last segment of its page's URL). */
  resultsId: string;
  /** Where the browser and the client go next, a path such as `/display_result/<resultsId>`. */
  location: string;
}

/** Starts (or finds, for a repeated request) the submission; resolves within seconds. */
export type StartSubmission = (request: SubmissionRequest) => Promise<SubmissionStarted>;

/**
 * A submission the starter refuses for a reason the submitter can fix (shown in the form's
 * error_message div); any other error is a server error.
 */
export class SubmissionRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubmissionRefused';
  }
}
