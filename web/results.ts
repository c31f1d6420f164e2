// The submission's result pages (crds-protocol.md §5.5–5.6; docs/submission-protocol.md §7):
// `/display_result/<id>` shows the workflow's `progress` query (steps, files with their certify
// findings and certify's group check, generated rules with their differences, messages) and,
// while READY, the collisions with other new rules and the confirm/cancel/force form; a small
// static script polls `/submission/<id>/progress.json` so no request waits on the workflow.
// `/submit_confirm_pipeline/` (the real client) and `/submit_confirm/` (the page) pass the
// decision to the workflow's `decide` update, which validates it.
import express, { type Request, type Response } from 'express';
import type { Database } from '../db';
import { findLock, lockId, releaseLocks } from '../db/locks';
import { mappingCollisions, type MappingCollision } from '../db/submissions';
import type { SubmissionDecision, SubmissionProgress } from '../workflows/submission-types';
import { SUBMISSION_ID_RE } from '../workflows/submission-types';
import { requireLogin } from './accounts';
import type { Sessions } from './sessions';
import { DecisionRefused, type SubmissionService } from './submissions';

export interface ResultsDeps {
  db: Database;
  sessions: Sessions;
  observatory: string;
  /** Temporal UI and the namespace, for the link to the submission's workflow. */
  temporal: { uiUrl: string; namespace: string };
  submissions: Pick<SubmissionService, 'progress' | 'decide'>;
}

const ACTIONS: readonly SubmissionDecision['action'][] = ['confirm', 'cancel', 'force'];

/** Statuses after which the page stops polling. */
export const FINAL_STATUSES = ['archived', 'cancelled', 'failed', 'certified'];

export function resultsRouter(deps: ResultsDeps): express.Router {
  const { db, submissions } = deps;
  const router = express.Router();

  async function render(req: Request, res: Response, resultsId: string, errorMessage?: string): Promise<void> {
    let progress: SubmissionProgress | undefined;
    let unavailable: string | undefined;
    try {
      progress = await submissions.progress(resultsId);
      if (!progress) {
        res.status(404).render('error', { title: 'Not found', message: `No submission '${resultsId}'.` });
        return;
      }
    } catch (err) {
      // Temporal or the worker is slow or down: the page says so and its script keeps asking.
      unavailable = `The submission's progress is not available right now (${(err as Error).message}); this page keeps trying.`;
    }
    const mayDecide = !!req.session && progress?.status === 'ready';
    // Asked afresh at each view: another submission may branch from the same parents meanwhile.
    let collisions: MappingCollision[] = [];
    if (progress?.status === 'ready') {
      const since = new Date(progress.steps[0]?.startedAt ?? 0);
      collisions = await mappingCollisions(db, progress.generated, since);
    }
    res.render('display-result', {
      title: `Submission ${resultsId}`,
      resultsId,
      progress,
      unavailable,
      mayDecide,
      collisions,
      finalStatuses: FINAL_STATUSES,
      decided: progress ? progress.disposition === 'confirmed' || progress.disposition === 'forced' : false,
      observatory: deps.observatory,
      workflowUrl: progress ? `${deps.temporal.uiUrl}/namespaces/${encodeURIComponent(deps.temporal.namespace)}/workflows/${encodeURIComponent(progress.workflowId)}` : undefined,
      errorMessage,
    });
  }

  router.get('/display_result/:id', async (req, res) => {
    await render(req, res, String(req.params.id));
  });

  router.get('/submission/:id/progress.json', async (req, res) => {
    const id = String(req.params.id);
    try {
      const progress = await submissions.progress(id);
      if (!progress) return void res.status(404).json({ error: `No submission '${id}'.` });
      res.set('cache-control', 'no-store').json(progress);
    } catch (err) {
      res.status(503).json({ error: `Progress not available right now: ${(err as Error).message}` });
    }
  });

  const decide = async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const resultsId = typeof body.results_id === 'string' ? body.results_id.trim() : '';
    const action = (typeof body.button === 'string' ? body.button.trim().toLowerCase() : '') as SubmissionDecision['action'];
    if (!SUBMISSION_ID_RE.test(resultsId)) {
      res.status(404).render('error', { title: 'Not found', message: `No submission '${resultsId}'.`, errorMessage: `No submission '${resultsId}'.` });
      return;
    }
    if (!ACTIONS.includes(action)) return render(req, res, resultsId, `Unknown button '${action}': use confirm, cancel or force.`);
    const username = req.session!.username;
    const lock = await findLock(db, username);
    const decision: SubmissionDecision = {
      action,
      username,
      lock: lock ? { instrument: lock.name, lockId: lockId(lock), expiresAt: lock.expiresAt.toISOString() } : undefined,
    };
    try {
      await submissions.decide(resultsId, decision);
    } catch (err) {
      if (err instanceof DecisionRefused) return render(req, res, resultsId, err.message);
      throw err;
    }
    if (action !== 'cancel') {
      // As the original: confirming ends the submitter's session and gives up the lock.
      await releaseLocks(db, username);
      deps.sessions.clear(res);
    }
    res.redirect(302, `/display_result/${resultsId}`);
  };
  router.post('/submit_confirm_pipeline/', requireLogin(), decide);
  router.post('/submit_confirm/', requireLogin(), decide);

  return router;
}
