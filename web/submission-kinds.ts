// The submission kinds of the original besides batch submit (crds-protocol.md §5.1, §5.4):
// `/certify/` certifies the ingest folder against a context and stops there, with the same
// progress, result page, jpoll channel and mail as a batch submission (the workflow's
// certify-only kind). The real client posts it for `crds submit --submission-kind certify`
// with only pmap_name, pmap_mode and compare_old_reference.
import express, { type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { findLock, lockId } from '../db/locks';
import { requireLogin } from './accounts';
import { checkboxOf, contextChoice, formOf, type Form } from './submit';
import { listIngested, type UploadFolders } from './upload-files';
import { UPLOAD_CHUNK_SIZE } from './uploads';
import { SubmissionRefused, type StartSubmission } from './submission-types';

export interface SubmissionKindsDeps {
  config: Config;
  db: Database;
  folders: UploadFolders;
  startSubmission?: StartSubmission;
}

export function submissionKindsRouter(deps: SubmissionKindsDeps): express.Router {
  const { db, folders, config } = deps;
  const router = express.Router();
  const login = requireLogin();

  /** The user's live instrument lock, if any: certify-only needs none. */
  async function liveLock(req: Request) {
    const lock = await findLock(db, req.session!.username);
    return lock && lock.expiresAt > new Date() ? lock : undefined;
  }

  async function certifyPage(req: Request, res: Response, form: Form, errorMessage?: string, status = 200): Promise<void> {
    res.status(status).render('batch-submit', {
      title: 'Certify files',
      kind: 'certify',
      lock: await liveLock(req),
      files: await listIngested(folders.ingest(req.session!.username)),
      form,
      chunkSize: UPLOAD_CHUNK_SIZE,
      maxUploadBytes: config.maxUploadBytes,
      errorMessage,
    });
  }

  router.get('/certify/', login, async (req, res) => {
    await certifyPage(req, res, { pmap_mode: 'pmap_edit', compare_old_reference: 'True' });
  });

  router.post('/certify/', login, async (req, res) => {
    const form = formOf(req.body);
    const refuse = (message: string, status = 200) => certifyPage(req, res, form, message, status);
    if (!deps.startSubmission) return refuse('The submission workflow is not available on this server yet.', 503);
    const context = contextChoice(form, config.observatory);
    if (typeof context === 'string') return refuse(context);
    const ingestDir = folders.ingest(req.session!.username);
    const files = await listIngested(ingestDir);
    if (files.length === 0) return refuse('No input files were specified.');
    const lock = await liveLock(req);
    const user = req.user!;
    try {
      const started = await deps.startSubmission({
        kind: 'certify',
        observatory: config.observatory,
        submitter: { username: user.username, email: user.email, isSuperuser: user.isSuperuser },
        lock: lock ? { instrument: lock.name, lockId: lockId(lock), createdOn: lock.createdOn } : { instrument: 'none', lockId: '', createdOn: new Date(0) },
        ingestDir,
        files,
        ...context,
        changeLevel: 'TRIVIAL',
        creator: '',
        description: `Certify ${files.length} file(s)`,
        autoRename: false,
        compareOldReference: checkboxOf(form.compare_old_reference),
        jpollKey: req.session!.jpollKey,
      });
      res.redirect(302, started.location);
    } catch (err) {
      if (err instanceof SubmissionRefused) return refuse(err.message);
      throw err;
    }
  });

  return router;
}
