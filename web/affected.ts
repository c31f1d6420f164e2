// Context activation and affected datasets pages (crds-protocol.md §4.5, §7):
//   /set_default_context/            choose a context, preview its impact, set it (operators)
//   /set_default_context/preview     POST: start (or reuse) the preview run
//   /edit_context_history/           correct a history entry's description (operators)
//   /affected_datasets/              every transition's run: status, counts, duration
//   /affected_datasets/run/<wf>/     a run's progress (and, done, its counts and chart)
//   /affected_datasets/run/<wf>.json the progress as JSON, polled by the page
//   /affected_datasets/<dir>/        one stored result: counts, first ids, downloads
//   /static/vendor/chart.umd.js      chart.js from our own node_modules
// Operators are superusers and members of the `ops` group. CSRF is checked for every POST
// by app.ts's requireCsrf before these handlers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Op } from 'sequelize';
import type { Config } from '../config';
import type { Database } from '../db';
import { bumpGeneration, CatalogError, DISTRIBUTION_STATES, defaultContexts } from '../db/catalog';
import { listRuns, type RunRow } from '../db/affected-runs';
import { CONTEXT_KINDS, setContext } from '../db/set-context';
import type { AffectedService } from './affected-service';
import { requireLogin } from './accounts';
import type { AffectedProgress } from '../workflows/affected-types';

export interface AffectedRouterDeps {
  config: Config;
  db: Database;
  service: AffectedService;
  /** Called after a context changed (the web's catalog view refresh). */
  changed?: () => void;
}

export const OPS_GROUP = 'ops';
const WORKFLOW_ID_RE = /^affected-(preview-)?[a-z]+-\d+-\d+$/;
/** A context's name as the catalog holds it (hst_0698.pmap, jwst_1200.pmap). */
const CONTEXT_NAME_RE = /^[a-z]+_\d+\.pmap$/;
const DIR_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}:[0-9]{2}:[0-9]{2}:[0-9]{2}_\d+_\d+$/;
const CHART_JS = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');

/** Whether the signed-in user may set contexts: a superuser or a member of the `ops` group. */
export async function isOperator(db: Database, username: string): Promise<boolean> {
  const user = await db.models.User.findOne({ where: { username, isActive: true } });
  if (!user) return false;
  if (user.isSuperuser) return true;
  const group = await db.models.Group.findOne({ where: { name: OPS_GROUP } });
  return !!group && (await db.models.UserGroup.count({ where: { userId: user.id, groupId: group.id } })) > 0;
}

/** Selectable contexts: catalogued .pmaps delivered or archived (or operational), newest first. */
async function selectableContexts(db: Database): Promise<string[]> {
  const rows = await db.models.CatalogFile.findAll({
    attributes: ['name'],
    where: { type: 'mapping', name: { [Op.like]: '%.pmap' }, state: [...DISTRIBUTION_STATES], rejected: false, blacklisted: false },
  });
  const serial = (n: string) => Number(/_(\d+)\.pmap$/.exec(n)?.[1] ?? -1);
  return rows.map((r) => r.name).sort((a, b) => serial(b) - serial(a));
}

function isProgress(p: AffectedProgress | RunRow | undefined): p is AffectedProgress {
  return !!p && 'batchesTotal' in p;
}

/** One shape for the page and its JSON, from the live query or the stored run. */
function progressView(p: AffectedProgress | RunRow) {
  if (isProgress(p)) {
    return {
      workflowId: p.workflowId,
      kind: p.kind,
      oldContext: p.oldContext,
      newContext: p.newContext,
      status: p.status,
      batchesDone: p.batchesDone,
      batchesTotal: p.batchesTotal,
      datasetsDone: p.datasetsDone,
      datasetsTotal: p.datasetsTotal,
      datasetsPerSecond: p.datasetsPerSecond,
      affected: p.outcome ? p.outcome.affected : p.affectedSoFar,
      errors: p.outcome ? p.outcome.errors : p.errorsSoFar,
      counts: p.counts,
      computationDir: p.outcome?.computationDir ?? '',
      elapsedMs: p.elapsedMs,
      workers: p.workers,
      failure: p.failure ?? '',
    };
  }
  const summary = p.summary as { counts?: Record<string, Record<string, number>>; failure?: string };
  return {
    workflowId: p.workflowId,
    kind: p.kind,
    oldContext: p.oldContext,
    newContext: p.newContext,
    status: p.status,
    batchesDone: 0,
    batchesTotal: 0,
    datasetsDone: p.datasets,
    datasetsTotal: p.datasets,
    datasetsPerSecond: 0,
    affected: p.affected,
    errors: p.errors,
    counts: summary.counts ?? {},
    computationDir: p.computationDir,
    elapsedMs: p.finishedAt ? p.finishedAt.getTime() - p.startedAt.getTime() : Date.now() - p.startedAt.getTime(),
    workers: {},
    failure: summary.failure ?? '',
  };
}

export function affectedRouter(deps: AffectedRouterDeps): express.Router {
  const { config, db, service } = deps;
  const router = express.Router();
  const resultsDir = (dir: string) => path.join(config.reprocessingDir, dir);
  const temporalLink = (workflowId: string) => `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;

  const requireOperator = async (req: Request, res: Response, next: NextFunction) => {
    if (await isOperator(db, req.session!.username)) return next();
    res.status(403).render('error', { title: 'Not allowed', message: `User '${req.session!.username}' may not set contexts: only superusers and members of the '${OPS_GROUP}' group.` });
  };

  router.get('/static/vendor/chart.umd.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'public, max-age=3600').sendFile(CHART_JS);
  });

  const renderSetContext = async (res: Response, extra: { error?: string; done?: string; chosen?: string; status?: number }) => {
    const [contexts, defaults] = await Promise.all([selectableContexts(db), defaultContexts(db)]);
    res.status(extra.status ?? 200).render('set-default-context', {
      title: 'Set Context',
      contexts,
      defaults,
      kinds: CONTEXT_KINDS,
      chosen: extra.chosen ?? '',
      error: extra.error ?? '',
      done: extra.done ?? '',
    });
  };

  router.get('/set_default_context/', requireLogin(), requireOperator, async (req, res) => {
    await renderSetContext(res, { chosen: typeof req.query.context === 'string' ? req.query.context : '' });
  });

  router.post('/set_default_context/preview', requireLogin(true), requireOperator, async (req, res) => {
    const context = String(req.body?.context ?? '');
    const { latest } = await defaultContexts(db);
    if (!(await selectableContexts(db)).includes(context)) {
      res.status(400).json({ error: `Context '${context}' cannot be chosen` });
      return;
    }
    if (context === latest) {
      res.status(400).json({ error: `'${context}' is already the operational context: nothing to preview` });
      return;
    }
    const { workflowId, reused } = await service.startPreview(latest, context, req.session!.username);
    res.status(202).location(`/affected_datasets/run/${workflowId}/`).json({ workflowId, reused, progress: `/affected_datasets/run/${workflowId}.json` });
  });

  router.post('/set_default_context/', requireLogin(), requireOperator, async (req, res) => {
    const context = String(req.body?.context ?? '');
    const kind = String(req.body?.context_type ?? 'operational');
    const why = String(req.body?.description ?? '');
    try {
      const outcome = await setContext(db, config, { context, kind, why, username: req.session!.username });
      deps.changed?.();
      if (outcome.state === 'latest' && outcome.previous) {
        const workflowId = await service.startActivation(outcome.previous, outcome.context, req.session!.username);
        res.redirect(303, `/affected_datasets/run/${workflowId}/`);
        return;
      }
      await renderSetContext(res, { done: `The ${kind} context is now ${outcome.context} (was ${outcome.previous || 'none'}).` });
    } catch (err) {
      if (!(err instanceof CatalogError)) throw err;
      await renderSetContext(res, { error: err.message, chosen: context, status: 400 });
    }
  });

  router.get('/edit_context_history/', requireLogin(), requireOperator, async (_req, res) => {
    const history = await db.models.ContextHistory.findAll({ order: [['startDate', 'DESC'], ['id', 'DESC']], limit: 500 });
    res.render('edit-context-history', { title: 'Context history', history, error: '', done: '' });
  });

  router.post('/edit_context_history/', requireLogin(), requireOperator, async (req, res) => {
    const id = Number(req.body?.id);
    const description = String(req.body?.description ?? '').trim();
    const row = Number.isInteger(id) ? await db.models.ContextHistory.findByPk(id) : null;
    let error = '';
    let done = '';
    if (!row) error = `No context history entry ${JSON.stringify(String(req.body?.id ?? ''))}`;
    else if (!description) error = 'The description may not be empty';
    else {
      await db.sequelize.transaction(async (transaction) => {
        await row.update({ description }, { transaction });
        await db.models.AuditRecord.create(
          { date: new Date(), username: req.session!.username, action: 'edit context history', filename: row.context, observatory: config.observatory, why: description, details: { id, state: row.state } },
          { transaction },
        );
        await bumpGeneration(db, transaction); // the context's file page shows its audit trail
      });
      deps.changed?.();
      done = `Entry ${id} (${row.context}) now reads: ${description}`;
    }
    const history = await db.models.ContextHistory.findAll({ order: [['startDate', 'DESC'], ['id', 'DESC']], limit: 500 });
    res.status(error ? 400 : 200).render('edit-context-history', { title: 'Context history', history, error, done });
  });

  // An operator asks for a transition to be computed again (never done on its own: §7).
  router.post('/affected_datasets/rerun', requireLogin(), requireOperator, async (req, res) => {
    const oldContext = String(req.body?.old_context ?? '');
    const newContext = String(req.body?.new_context ?? '');
    const workflowId = CONTEXT_NAME_RE.test(oldContext) && CONTEXT_NAME_RE.test(newContext) ? await service.startRerun(oldContext, newContext, req.session!.username) : undefined;
    if (!workflowId) {
      res.status(400).render('error', { title: 'Cannot re-run', message: `No affected datasets run of ${oldContext || '(none)'} → ${newContext || '(none)'} to compute again.` });
      return;
    }
    res.redirect(303, `/affected_datasets/run/${workflowId}/`);
  });

  router.get('/affected_datasets/', async (_req, res) => {
    const runs = await listRuns(db, { kind: 'activation', limit: 200 });
    res.render('affected-list', { title: 'Affected datasets', runs });
  });

  router.get(/^\/affected_datasets\/run\/([^/]+)\.json$/, async (req, res) => {
    const workflowId = (req.params as unknown as string[])[0];
    const p = WORKFLOW_ID_RE.test(workflowId) ? await service.progress(workflowId) : undefined;
    if (!p) {
      res.status(404).json({ error: `No affected datasets run '${workflowId}'` });
      return;
    }
    res.set('Cache-Control', 'no-store').json(progressView(p));
  });

  router.get('/affected_datasets/run/:workflowId/', async (req, res) => {
    const { workflowId } = req.params;
    const p = WORKFLOW_ID_RE.test(workflowId) ? await service.progress(workflowId) : undefined;
    if (!p) {
      res.status(404).render('error', { title: 'Not found', message: `No affected datasets run '${workflowId}'` });
      return;
    }
    res.render('affected-run', { title: `Affected datasets ${p.oldContext} → ${p.newContext}`, run: progressView(p), temporalUrl: temporalLink(workflowId) });
  });

  const storedResult = async (dir: string) => (DIR_RE.test(dir) ? db.models.AffectedDatasets.findOne({ where: { computationDir: dir } }) : null);

  router.get('/affected_datasets/:dir/', async (req, res, next) => {
    const row = await storedResult(req.params.dir);
    if (!row) return next();
    const [run] = (await listRuns(db, { kind: 'activation', oldContext: row.oldContext, newContext: row.newContext, limit: 50 })).filter((r) => r.computationDir === row.computationDir);
    const summary = (run?.summary ?? {}) as { counts?: Record<string, Record<string, number>> };
    res.render('affected-result', {
      title: `Affected datasets ${row.oldContext} → ${row.newContext}`,
      row,
      run,
      counts: summary.counts ?? {},
      firstIds: row.affectedIds.slice(0, 100),
      temporalUrl: run ? temporalLink(run.workflowId) : '',
      mayRerun: !!req.session && (await isOperator(db, req.session.username)),
    });
  });

  router.get('/affected_datasets/:dir/:file', async (req, res, next) => {
    const { dir, file } = req.params;
    if (!['affected_ids.txt', 'bestrefs_err.txt', 'bestrefs.status', 'summary.json'].includes(file)) return next();
    const row = await storedResult(dir);
    const full = path.join(resultsDir(dir), file);
    if (!row || !fs.existsSync(full)) return next();
    res.type(file.endsWith('.json') ? 'application/json' : 'text/plain').set('Content-Disposition', `attachment; filename="${file}"`).sendFile(full);
  });

  return router;
}
