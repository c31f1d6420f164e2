// The submission's result pages (crds-protocol.md §4.9, §5.5–5.6; docs/submission-protocol.md §7):
// `/display_result/<id>` (and `/authenticated_result/<id>`) shows, to the submitter, their
// group and superusers (others get the login page), the stored result of a finished
// submission or the running workflow's `progress` query (steps, files with their certify
// findings and certify's group check, generated rules with their differences, messages) and,
// while READY, the collisions with other new rules and the confirm/cancel/force form; a small
// static script polls `/submission/<id>/progress.json` so no request waits on the workflow.
// `/submit_confirm_pipeline/` (the real client) and `/submit_confirm/` (the page) pass the
// decision to the workflow's `decide` update, which validates it.
import express, { type Request, type Response } from 'express';
import type { Database } from '../db';
import { findLock, lockId, releaseLocks } from '../db/locks';
import { mappingCollisions, type MappingCollision } from '../db/submissions';
import { maySeeResult } from '../db/submission-results';
import { redcatRecordOf } from '../db/redcat';
import type { SubmissionDecision, SubmissionProgress } from '../workflows/submission-types';
import { FINAL_STATUSES, SUBMISSION_ID_RE } from '../workflows/submission-types';
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
export { FINAL_STATUSES };

export function resultsRouter(deps: ResultsDeps): express.Router {
  const { db, submissions } = deps;
  const router = express.Router();

  /**
   * requires_authentication: the submitter, their group or a superuser (without a progress,
   * anyone logged in), or the browser a confirm just logged out.
   */
  const maySee = async (req: Request, resultsId: string, progress: SubmissionProgress | undefined): Promise<boolean> =>
    deps.sessions.mayReadResult(req, resultsId) || (!!req.session && (!progress || (await maySeeResult(db, req.session.username, progress.username))));

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
    if (!(await maySee(req, resultsId, progress))) {
      res.redirect(302, `/login/?next=${encodeURIComponent(`/authenticated_result/${resultsId}`)}`);
      return;
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
      // A ReDCaT submission's page leads to its delivery description (the original showed it).
      redcat: progress ? await redcatRecordOf(db, resultsId) : undefined,
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
  // The original's link that makes the reader log in first, then shows the result.
  router.get('/authenticated_result/:id', requireLogin(), async (req, res) => {
    await render(req, res, String(req.params.id));
  });

  router.get('/submission/:id/progress.json', async (req, res) => {
    const id = String(req.params.id);
    try {
      const progress = await submissions.progress(id);
      if (!progress) return void res.status(404).json({ error: `No submission '${id}'.` });
      if (!(await maySee(req, id, progress))) return void res.status(403).json({ error: 'Log in as the submitter, a member of their group or a superuser to see this submission.' });
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
      await deps.sessions.end(req, res);
      deps.sessions.grantResult(res, resultsId);
    }
    res.redirect(302, `/display_result/${resultsId}`);
  };
  router.post('/submit_confirm_pipeline/', requireLogin(), decide);
  router.post('/submit_confirm/', requireLogin(), decide);

  return router;
}
