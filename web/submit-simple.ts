// Simple submit (crds-protocol.md §5.1, §5.4, the original's SimpleFileSubmission):
// `/submit/reference/` submits the ingest folder's references as they are (not inserted
// into rules), `/submit/mapping/` its mappings, and with `generate_contexts` the submitted
// rmaps get new imaps and a pmap at confirm, like batch submit. Both need a login, a group
// that submits for the instrument and its lock; the workflow's `reference` / `mapping` kinds
// do the rest with the same progress, result page, jpoll channel and mail as batch submit.
import express, { type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { maySubmitFor } from '../db/accounts';
import { findLock, lockId } from '../db/locks';
import type { InstrumentLockRow } from '../db/models';
import { requireLogin } from './accounts';
import { CHANGE_LEVELS, checkboxOf, contextChoice, CREATOR, DESCRIPTION, formOf, NO_LOCK, type Form } from './submit';
import { listIngested, type UploadFolders } from './upload-files';
import { UPLOAD_CHUNK_SIZE } from './uploads';
import { SubmissionRefused, type ChangeLevel, type StartSubmission, type SubmissionRequest } from './submission-types';

export interface SimpleSubmitDeps {
  config: Config;
  db: Database;
  folders: UploadFolders;
  startSubmission?: StartSubmission;
}

const MAPPING = /\.[pir]map$/;

/** The user's live instrument lock and their right to submit for it, or why not (as batch submit). */
export async function submitterLock(db: Database, req: Request): Promise<{ lock?: InstrumentLockRow; problem?: string }> {
  const lock = await findLock(db, req.session!.username);
  if (!lock || lock.expiresAt <= new Date()) return { problem: NO_LOCK };
  if (!(await maySubmitFor(db, req.user!, lock.name))) return { lock, problem: `User '${req.user!.username}' may not submit files for instrument '${lock.name}'.` };
  return { lock };
}

/** The fields every submission form shares, checked as the original checks them, or why not. */
export function submissionFields(form: Form, observatory: string) {
  const context = contextChoice(form, observatory);
  if (typeof context === 'string') return context;
  const changeLevel = (form.change_level || 'SEVERE') as ChangeLevel;
  if (!CHANGE_LEVELS.includes(changeLevel)) return `Invalid change_level '${changeLevel.slice(0, 20)}': use one of ${CHANGE_LEVELS.join(', ')}.`;
  const description = (form.description ?? '').trim();
  if (!DESCRIPTION.test(description)) return 'Invalid description: 1 to 2000 characters of letters, digits, spaces and . _ / , = - +';
  const creator = (form.creator ?? '').trim();
  if (!CREATOR.test(creator)) return 'Invalid creator: up to 128 characters of letters, digits, spaces and _ . @ , -';
  return { ...context, changeLevel, description, creator };
}

/** Why the ingest folder's files do not fit the page, or undefined. */
export function simpleFilesRefusal(kind: 'reference' | 'mapping', names: string[], generateContexts: boolean, isSuperuser: boolean): string | undefined {
  if (kind === 'reference') {
    const mapping = names.find((n) => MAPPING.test(n));
    return mapping && `'${mapping}' is a mapping: submit mappings on /submit/mapping/.`;
  }
  const reference = names.find((n) => !MAPPING.test(n));
  if (reference) return `'${reference}' is not a mapping: submit references on /submit/reference/.`;
  const notRmap = names.find((n) => !n.endsWith('.rmap'));
  if (generateContexts && notRmap) return `Only .rmap files may be submitted with 'generate contexts': '${notRmap}' is not an rmap. The new imaps and pmap are made from your rmaps at confirm.`;
  // A pmap spans every instrument: not for an instrument team's lock.
  const pmap = names.find((n) => n.endsWith('.pmap'));
  if (pmap && !isSuperuser) return `Only superusers may submit a .pmap ('${pmap}'): submit your rmaps with 'generate contexts'.`;
  return undefined;
}

export function simpleSubmitRouter(deps: SimpleSubmitDeps): express.Router {
  const { db, folders, config } = deps;
  const router = express.Router();
  const login = requireLogin();

  for (const kind of ['reference', 'mapping'] as const) {
    const url = `/submit/${kind}/`;
    async function page(req: Request, res: Response, form: Form, errorMessage?: string, status = 200): Promise<void> {
      const { lock, problem } = await submitterLock(db, req);
      res.status(status).render('simple-submit', {
        title: `Submit ${kind}s`,
        kind,
        action: url,
        lock,
        files: await listIngested(folders.ingest(req.session!.username)),
        form,
        chunkSize: UPLOAD_CHUNK_SIZE,
        maxUploadBytes: config.maxUploadBytes,
        errorMessage: errorMessage ?? problem,
      });
    }

    router.get(url, login, async (req, res) => {
      await page(req, res, { pmap_mode: 'pmap_edit', change_level: 'SEVERE', auto_rename: kind === 'reference' ? 'True' : 'False', compare_old_reference: 'True', generate_contexts: 'True' });
    });

    router.post(url, login, async (req, res) => {
      const form = formOf(req.body);
      const refuse = (message: string, status = 200) => page(req, res, form, message, status);
      if (!deps.startSubmission) return refuse('The submission workflow is not available on this server yet.', 503);
      const { lock, problem } = await submitterLock(db, req);
      if (!lock || problem) return refuse(problem ?? NO_LOCK);
      const fields = submissionFields(form, config.observatory);
      if (typeof fields === 'string') return refuse(fields);
      const ingestDir = folders.ingest(req.session!.username);
      const files = await listIngested(ingestDir);
      if (files.length === 0) return refuse('No input files were specified.');
      const generateContexts = kind === 'mapping' && checkboxOf(form.generate_contexts);
      const user = req.user!;
      const wrong = simpleFilesRefusal(kind, files.map((f) => f.name), generateContexts, user.isSuperuser);
      if (wrong) return refuse(wrong);
      const request: SubmissionRequest = {
        kind: kind === 'reference' ? 'submit_reference' : 'submit_mapping',
        observatory: config.observatory,
        submitter: { username: user.username, email: user.email, isSuperuser: user.isSuperuser },
        lock: { instrument: lock.name, lockId: lockId(lock), createdOn: lock.createdOn },
        ingestDir,
        files,
        ...fields,
        autoRename: kind === 'reference' && checkboxOf(form.auto_rename),
        compareOldReference: checkboxOf(form.compare_old_reference),
        ...(kind === 'mapping' ? { generateContexts } : {}),
        jpollKey: req.session!.jpollKey,
      };
      try {
        const started = await deps.startSubmission(request);
        res.redirect(302, started.location);
      } catch (err) {
        if (err instanceof SubmissionRefused) return refuse(err.message);
        throw err;
      }
    });
  }
  return router;
}
