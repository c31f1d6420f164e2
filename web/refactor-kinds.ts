// The submission kinds that change the rules of catalogued files (crds-protocol.md §5.1,
// §5.4): `/delete/reference/` and `/add_existing/reference/` name a context and references
// already in the catalog; new rmaps are made without or with them, READY like batch submit,
// and confirm makes the imaps and the pmap. `/create_contexts/` (superusers) names rmaps and
// a base context; the new imaps and pmap are made and delivered at once, unconfirmed, as the
// original did. The form is refused here when it names unknown files, files of another
// instrument, or files not (or already) in the context; the workflow checks them again.
import * as path from 'node:path';
import express, { type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { defaultContexts } from '../db/catalog';
import { lockId } from '../db/locks';
import { MappingStore } from '../crds';
import { requireLogin } from './accounts';
import { formOf, NO_LOCK, startOrRefuse, submitterLock, type Form } from './submit';
import { submissionFields } from './submit-simple';
import type { StartSubmission, SubmissionRequest } from './submission-types';

export interface RefactorKindsDeps {
  config: Config;
  db: Database;
  startSubmission?: StartSubmission;
}

const FILE = /^[A-Za-z0-9._-]{1,128}$/;

/** The names of a form's list field (spaces, commas or new lines between them), or why not. */
function namesOf(value: string | undefined, what: string): string[] | string {
  const names = [...new Set((value ?? '').split(/[\s,]+/).filter(Boolean))];
  if (!names.length) return `Name at least one ${what}.`;
  if (names.length > 500) return `Name at most 500 ${what}s.`;
  const bad = names.find((n) => !FILE.test(n));
  return bad === undefined ? names : `Invalid file name '${bad.slice(0, 128)}'.`;
}

const PAGES = {
  delete: { url: '/delete/reference/', field: 'deleted_files', title: 'Delete references', kind: 'delete_references' },
  add: { url: '/add_existing/reference/', field: 'added_files', title: 'Add existing references', kind: 'add_references' },
  create: { url: '/create_contexts/', field: 'rmaps', title: 'Create contexts', kind: 'create_contexts' },
} as const;

export function refactorKindsRouter(deps: RefactorKindsDeps): express.Router {
  const { db, config } = deps;
  const router = express.Router();
  const login = requireLogin();
  const mappingsDir = path.join(config.fileCache, 'mappings', config.observatory);

  /** The context a form names, now (the workflow resolves it again), or why not. */
  async function contextNamed(pmapMode: string, pmapName: string): Promise<string | { refusal: string }> {
    if (pmapMode === 'pmap_text') {
      const row = await db.models.CatalogFile.findOne({ where: { name: pmapName } });
      return row && row.state !== 'uploaded' ? pmapName : { refusal: `Context '${pmapName}' is not a known .pmap.` };
    }
    const defaults = await defaultContexts(db);
    const context = pmapMode === 'pmap_edit' ? defaults.edit : defaults.latest;
    return context ?? { refusal: 'This server has no such default context.' };
  }

  for (const which of ['delete', 'add', 'create'] as const) {
    const spec = PAGES[which];
    async function page(req: Request, res: Response, form: Form, errorMessage?: string, status = 200, showForm = true): Promise<void> {
      const { lock, problem } = which === 'create' ? { lock: undefined, problem: undefined } : await submitterLock(db, req);
      res.status(status).render('refactor-submit', { title: spec.title, which, spec: showForm ? spec : undefined, lock, form, errorMessage: errorMessage ?? problem });
    }
    /** Superusers only on create_contexts: others get the refusal, not the form. */
    const gate = (req: Request, res: Response, next: () => void) => {
      if (which === 'create' && !req.user!.isSuperuser) return void page(req, res, {}, 'Only superusers may create contexts.', 403, false);
      next();
    };

    router.get(spec.url, login, gate, async (req, res) => {
      await page(req, res, { pmap_mode: 'pmap_edit', change_level: 'SEVERE' });
    });

    router.post(spec.url, login, gate, async (req, res) => {
      const form = formOf(req.body);
      const refuse = (message: string, status = 200) => page(req, res, form, message, status);
      if (!deps.startSubmission) return refuse('The submission workflow is not available on this server yet.', 503);
      const user = req.user!;
      const { lock, problem } = which === 'create' ? { lock: undefined, problem: undefined } : await submitterLock(db, req);
      if (which !== 'create' && (!lock || problem)) return refuse(problem ?? NO_LOCK);
      const fields = submissionFields(form, config.observatory);
      if (typeof fields === 'string') return refuse(fields);
      const names = namesOf(form[spec.field], which === 'create' ? 'rmap' : 'reference');
      if (typeof names === 'string') return refuse(names);
      const context = await contextNamed(fields.pmapMode, fields.pmapName);
      if (typeof context !== 'string') return refuse(context.refusal);

      // What the workflow checks again: known, of the user's instrument, in (or not in) the context.
      const rows = await db.models.CatalogFile.findAll({ attributes: ['name', 'type', 'instrument', 'state'], where: { name: names } });
      const store = new MappingStore(mappingsDir, { ignoreChecksum: 'warn' });
      const pmap = store.loadContext(context);
      const present = new Set(which === 'create' ? pmap.mappingNames() : pmap.referenceNames());
      for (const name of names) {
        const row = rows.find((r) => r.name === name);
        const type = which === 'create' ? 'mapping' : 'reference';
        if (!row || row.state === 'uploaded' || row.type !== type || (which === 'create' && !name.endsWith('.rmap'))) return refuse(`'${name}' is not a catalogued ${which === 'create' ? 'rmap' : 'reference'}.`);
        if (lock && row.instrument !== lock.name.toLowerCase()) return refuse(`'${name}' is for instrument '${row.instrument}', but you are logged in for '${lock.name}'.`);
        if (which === 'delete' && !present.has(name)) return refuse(`'${name}' is not in context '${context}': nothing to delete.`);
        if (which !== 'delete' && present.has(name)) return refuse(`'${name}' is already in context '${context}'.`);
      }

      const request: SubmissionRequest = {
        kind: spec.kind,
        observatory: config.observatory,
        submitter: { username: user.username, email: user.email, isSuperuser: user.isSuperuser },
        lock: lock ? { instrument: lock.name, lockId: lockId(lock), createdOn: lock.createdOn } : { instrument: 'none', lockId: '', createdOn: new Date(0) },
        ingestDir: '',
        files: [],
        ...fields,
        autoRename: false,
        compareOldReference: false,
        ...(which === 'create' ? { rmaps: names } : { references: names }),
        jpollKey: req.session!.jpollKey,
      };
      const started = await startOrRefuse(deps.startSubmission, request, refuse);
      if (started) res.redirect(302, started.location);
    });
  }
  return router;
}
