// Simple submit (crds-protocol.md §5.1, §5.4, the original's SimpleFileSubmission):
// `/submit/reference/` submits the ingest folder's references as they are (not inserted
// into rules), `/submit/mapping/` its mappings, and with `generate_contexts` the submitted
// rmaps get new imaps and a pmap at confirm, like batch submit. Both need a login, a group
// that submits for the instrument and its lock; the workflow's `reference` / `mapping` kinds
// do the rest with the same progress, result page, jpoll channel and mail as batch submit.
import express, { type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { requireLogin } from './accounts';
import { batchRequest, CHANGE_LEVELS, checkboxOf, contextChoice, CREATOR, DESCRIPTION, formOf, startOrRefuse, submitterLock, type Form } from './submit';
import { listIngested, type UploadFolders } from './upload-files';
import { UPLOAD_CHUNK_SIZE } from './uploads';
import type { ChangeLevel, StartSubmission } from './submission-types';

export interface SimpleSubmitDeps {
  config: Config;
  db: Database;
  folders: UploadFolders;
  startSubmission?: StartSubmission;
}

const MAPPING = /\.[pir]map$/;

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
      // The batch form's checks (lock, group, fields, ingest folder and quota), then this page's.
      const checked = await batchRequest(deps, req, form);
      if (checked.refusal !== undefined) return refuse(checked.refusal, checked.status);
      const generateContexts = kind === 'mapping' && checkboxOf(form.generate_contexts);
      const wrong = simpleFilesRefusal(kind, checked.request.files.map((f) => f.name), generateContexts, req.user!.isSuperuser);
      if (wrong) return refuse(wrong);
      const request = {
        ...checked.request,
        kind: kind === 'reference' ? ('submit_reference' as const) : ('submit_mapping' as const),
        autoRename: kind === 'reference' && checkboxOf(form.auto_rename),
        ...(kind === 'mapping' ? { generateContexts } : {}),
      };
      const started = await startOrRefuse(deps.startSubmission, request, refuse);
      if (started) res.redirect(302, started.location);
    });
  }
  return router;
}
