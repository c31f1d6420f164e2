// Builds the Express app from its dependencies (no globals), so tests drive the same app
// over a real port without a separate server process. server.ts only listens.
import * as path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import type { TemporalLink } from './temporal';
import { healthReport } from './health';
import { CatalogView, RulesCache } from './catalog-view';
import { jsonRpcHandler } from './jsonrpc';
import { downloadsRouter } from './downloads';

export interface AppDeps {
  config: Config;
  db: Database;
  temporal: TemporalLink;
  /** How often the catalog view re-checks the catalog generation (ms); default 1000. */
  catalogRefreshMs?: number;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.set('views', path.join(__dirname, 'views'));
  app.set('view engine', 'ejs');
  app.disable('x-powered-by');
  app.locals.site = {
    observatory: deps.config.observatory,
    usecase: deps.config.usecase,
    temporalUiUrl: deps.config.temporal.uiUrl,
  };
  // The catalog in memory and the parsed rules, shared by JSON-RPC and downloads. JSON-RPC
  // comes first: it is the hot path, and nothing before it needs to see its requests.
  const view = new CatalogView(deps.db, deps.catalogRefreshMs);
  const rules = new RulesCache(path.join(deps.config.fileCache, 'mappings', deps.config.observatory));
  app.use('/json', jsonRpcHandler({ config: deps.config, db: deps.db, view, rules }));
  app.use(downloadsRouter({ config: deps.config, view }));
  app.use('/static', express.static(path.join(__dirname, 'public'), { maxAge: '1h' }));

  app.get('/', async (_req, res) => {
    res.render('home', { title: 'Home', health: await healthReport(deps) });
  });

  app.get('/health', async (_req, res) => {
    const report = await healthReport(deps);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });

  app.use((req, res) => {
    res.status(404).render('error', { title: 'Not found', message: `No page at ${req.path}` });
  });

  // Express 5 passes rejected promises of async handlers here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    console.error('web:', err);
    res.status(500).render('error', { title: 'Server error', message: 'The server failed to answer this request; the error is logged.' });
  });
  return app;
}
