// The pages people browse the catalog with (issue #14): search, files, contexts, activity,
// best references and plots, each with a JSON twin (respond.ts). Mounted ahead of the site's
// CSRF check only for /bestrefs/'s multipart form, which checks its own token.
import * as path from 'node:path';
import { Router } from 'express';
import type { Config } from '../../config';
import type { Database } from '../../db';
import type { RulesCache } from '../catalog-view';
import { activityPagesRouter } from './activity-pages';
import { bestrefsRouter } from './bestrefs-page';
import { catalogPagesRouter } from './catalog-pages';
import { contextPagesRouter } from './context-pages';
import { BrowseDeps } from './deps';
import { plotsRouter } from './plots-page';

/** Chart.js, served from our own files (no network at run time). */
export const CHART_JS = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');

export function browseRouter(options: { db: Database; config: Config; rules: RulesCache }): Router {
  const deps = new BrowseDeps(options.db, options.config, options.rules);
  // Index the contexts' rules in the background (seconds on a real site), so the first file
  // page does not wait for it; it yields between contexts.
  setTimeout(() => void deps.uses('').catch(() => undefined), 1000).unref();
  const router = Router();
  router.get('/static/vendor/chart.umd.js', (_req, res) => res.sendFile(CHART_JS, { maxAge: '1d' }));
  router.use(catalogPagesRouter(deps), contextPagesRouter(deps), activityPagesRouter(deps), bestrefsRouter(deps), plotsRouter(deps));
  return router;
}
