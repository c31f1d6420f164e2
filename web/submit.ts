// The submission page (`/batch_submit_references/`): its form, the upload widget of the
// ingest folder, and the POST that hands a checked request to the submission workflow's
// starter (web/submission-types.ts). Also the session's jpoll channel, which the real client
// opens before uploading and which the POST binds to the submission.
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { maySubmitFor } from '../db/accounts';
import { findLock, lockId } from '../db/locks';
import type { InstrumentLockRow } from '../db/models';
import { requireLogin } from './accounts';
import type { Sessions } from './sessions';
import { listIngested, type UploadFolders } from './upload-files';
import { UPLOAD_CHUNK_SIZE } from './uploads';
import { SubmissionRefused, type ChangeLevel, type PmapMode, type StartSubmission, type SubmissionRequest } from './submission-types';

export interface SubmitDeps {
  config: Config;
  db: Database;
  sessions: Sessions;
  folders: UploadFolders;
  /** The workflow's starter; absent, the POST answers 503. */
  startSubmission?: StartSubmission;
}

// The original's form checks (crds-protocol.md §5.4).
export const DESCRIPTION = /^[A-Za-z0-9._\s/,=\-+]{1,2000}$/;
export const CREATOR = /^[A-Za-z_0-9.@, -]{0,128}$/;
export const PMAP_NAME = /^[A-Za-z0-9_]{1,64}\.pmap$/;
const PMAP_MODES: readonly PmapMode[] = ['pmap_edit', 'pmap_latest', 'pmap_operational', 'pmap_text'];
export const CHANGE_LEVELS: readonly ChangeLevel[] = ['SEVERE', 'MODERATE', 'TRIVIAL'];
/** Django's checkbox reading: these are false, anything else true (the client posts "True"/"False"). */
const FALSE_VALUES = new Set(['false', '0', '0.0', 'f', '']);
export const checkboxOf = (value: string | undefined): boolean => !FALSE_VALUES.has((value ?? '').toLowerCase());

export const NO_LOCK = "You can't access this function without logging in for a particular instrument.";

export type Form = Record<string, string>;

export function formOf(body: unknown): Form {
  const form: Form = {};
  for (const [k, v] of Object.entries((body as Record<string, unknown>) ?? {})) if (typeof v === 'string') form[k] = v;
  return form;
}

/** The derivation context a form asks for (pmap_mode, pmap_text / pmap_name), or why it is invalid. */
export function contextChoice(form: Form, observatory: string): { pmapMode: PmapMode; pmapName: string } | string {
  const pmapMode = (form.pmap_mode || 'pmap_edit') as PmapMode;
  if (!PMAP_MODES.includes(pmapMode)) return `Invalid pmap_mode '${pmapMode}': use one of ${PMAP_MODES.join(', ')}.`;
  const pmapName = (pmapMode === 'pmap_text' ? form.pmap_text || form.pmap_name : form.pmap_name) ?? '';
  if (pmapMode === 'pmap_text' && !PMAP_NAME.test(pmapName)) return `Invalid context '${pmapName}': name a .pmap such as ${observatory}_0001.pmap.`;
  if (pmapName && !PMAP_NAME.test(pmapName)) return `Invalid pmap_name '${pmapName}'.`;
  return { pmapMode, pmapName };
}

/** The user's live instrument lock and their right to submit for it, or why not. */
export async function submitterLock(db: Database, req: Request): Promise<{ lock?: InstrumentLockRow; problem?: string }> {
  const lock = await findLock(db, req.session!.username);
  if (!lock || lock.expiresAt <= new Date()) return { problem: NO_LOCK };
  if (!(await maySubmitFor(db, req.user!, lock.name))) return { lock, problem: `User '${req.user!.username}' may not submit files for instrument '${lock.name}'.` };
  return { lock };
}

/**
 * Renders the batch submission page (upload widget and form); `view` adds to or overrides its
 * locals (title, the form's action, more fields: the ReDCaT form of web/redcat.ts).
 */
export async function renderBatchPage(
  deps: Pick<SubmitDeps, 'config' | 'db' | 'folders'>,
  req: Request,
  res: Response,
  form: Form,
  errorMessage?: string,
  status = 200,
  view: Record<string, unknown> = {},
): Promise<void> {
  const { lock, problem } = await submitterLock(deps.db, req);
  res.status(status).render('batch-submit', {
    title: 'Batch submit references',
    action: '/batch_submit_references/',
    lock: lock && lock.expiresAt > new Date() ? lock : undefined,
    files: await listIngested(deps.folders.ingest(req.session!.username)),
    form,
    chunkSize: UPLOAD_CHUNK_SIZE,
    maxUploadBytes: deps.config.maxUploadBytes,
    errorMessage: errorMessage ?? problem,
    ...view,
  });
}

/** The defaults of a new batch form. */
export const BATCH_FORM_DEFAULTS: Form = { pmap_mode: 'pmap_edit', change_level: 'SEVERE', auto_rename: 'True', compare_old_reference: 'True' };

/**
 * Starts a submission from a checked request. A refusal at the start (SubmissionRefused: a
 * second submission on the same channel, the workflow service refusing) is shown by `refuse`
 * and undefined returned; any other failure propagates.
 */
export async function startOrRefuse<R>(start: (request: R) => ReturnType<StartSubmission>, request: R, refuse: (message: string) => unknown): Promise<Awaited<ReturnType<StartSubmission>> | undefined> {
  try {
    return await start(request);
  } catch (err) {
    if (!(err instanceof SubmissionRefused)) throw err;
    await refuse(err.message);
    return undefined;
  }
}

/**
 * Checks a posted batch form against the session's user, lock, group and ingest folder (the
 * original's batch_submit_references_post checks): the request for the workflow's starter,
 * or the refusal to show in the form's error_message div.
 */
export async function batchRequest(
  deps: Pick<SubmitDeps, 'config' | 'db' | 'folders'>,
  req: Request,
  form: Form,
): Promise<{ request: SubmissionRequest; refusal?: undefined } | { refusal: string; status: number }> {
  const refuse = (refusal: string, status = 200) => ({ refusal, status });
  const { lock, problem } = await submitterLock(deps.db, req);
  if (!lock || problem) return refuse(problem ?? NO_LOCK);

  const context = contextChoice(form, deps.config.observatory);
  if (typeof context === 'string') return refuse(context);
  const { pmapMode, pmapName } = context;
  const changeLevel = (form.change_level || 'SEVERE') as ChangeLevel;
  if (!CHANGE_LEVELS.includes(changeLevel)) return refuse(`Invalid change_level '${changeLevel}': use one of ${CHANGE_LEVELS.join(', ')}.`);
  const description = (form.description ?? '').trim();
  if (!DESCRIPTION.test(description)) return refuse('Invalid description: 1 to 2000 characters of letters, digits, spaces and . _ / , = - +');
  const creator = (form.creator ?? '').trim();
  if (!CREATOR.test(creator)) return refuse('Invalid creator: up to 128 characters of letters, digits, spaces and _ . @ , -');

  const ingestDir = deps.folders.ingest(req.session!.username);
  const files = await listIngested(ingestDir);
  if (files.length === 0) return refuse('No input files were specified.');
  // The ingest folder can also be filled directly (the upload bypass): the quota holds here too.
  const { userQuotaFiles, userQuotaBytes } = deps.config.security;
  const bytes = files.reduce((n, f) => n + f.size, 0);
  if (files.length > userQuotaFiles || bytes > userQuotaBytes) {
    return refuse(`Your ingest folder holds ${files.length} files (${bytes} bytes), more than your quota of ${userQuotaFiles} files and ${userQuotaBytes} bytes: delete some first.`, 413);
  }
  const user = req.user!;
  return {
    request: {
      kind: 'batch_submit_references',
      observatory: deps.config.observatory,
      submitter: { username: user.username, email: user.email, isSuperuser: user.isSuperuser },
      lock: { instrument: lock.name, lockId: lockId(lock), createdOn: lock.createdOn },
      ingestDir,
      files,
      pmapMode,
      pmapName,
      changeLevel,
      creator,
      description,
      autoRename: checkboxOf(form.auto_rename),
      compareOldReference: checkboxOf(form.compare_old_reference),
      jpollKey: req.session!.jpollKey,
    },
  };
}

export function submitRouter(deps: SubmitDeps): express.Router {
  const router = express.Router();
  const login = requireLogin();
  const page = (req: Request, res: Response, form: Form, errorMessage?: string, status = 200) => renderBatchPage(deps, req, res, form, errorMessage, status);

  router.get('/batch_submit_references/', login, async (req, res) => {
    await page(req, res, BATCH_FORM_DEFAULTS);
  });

  router.post('/batch_submit_references/', login, async (req, res) => {
    const form = formOf(req.body);
    const refuse = (message: string, status = 200) => page(req, res, form, message, status);
    if (!deps.startSubmission) return refuse('The submission workflow is not available on this server yet.', 503);
    const checked = await batchRequest(deps, req, form);
    if (checked.refusal !== undefined) return refuse(checked.refusal, checked.status);
    const started = await startOrRefuse(deps.startSubmission, checked.request, refuse);
    if (started) res.redirect(302, started.location);
  });

  // The client opens a channel (no trailing slash; both are served) before uploading; the
  // POST above finds it in the session, as the original's views did.
  router.get('/jpoll/open_channel', requireLogin(true), async (req, res) => {
    const key = randomUUID();
    await deps.sessions.setJpollKey(req, key);
    res.json(key);
  });

  return router;
}
