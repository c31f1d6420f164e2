// Builds the web server from its dependencies (no globals), so tests drive the same server
// over a real port without a separate server process. server.ts only listens.
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import type { TemporalLink } from './temporal';
import { healthReport } from './health';
import { CatalogView, RulesCache } from './catalog-view';
import { jsonRpcHandler } from './jsonrpc';
import { downloadsRouter } from './downloads';
import { accountsRouter } from './accounts';
import { requireCsrf, Sessions } from './sessions';
import type { StartSubmission } from './submission-types';
import { submitRouter } from './submit';
import { submissionKindsRouter } from './submission-kinds';
import { markBadRouter } from './mark-bad';
import { setPasswordRouter } from './set-password';
import { UploadFolders } from './upload-files';
import { uploadsRouter } from './uploads';
import { resultsRouter } from './results';
import { createSubmissionService, type SubmissionService } from './submissions';

export interface AppDeps {
  config: Config;
  db: Database;
  temporal: TemporalLink;
  /** How often the catalog view re-checks the catalog generation (ms); default 1000. */
  catalogRefreshMs?: number;
  /** Signs sessions (sessions.ts sessionSecret(), which server.ts requires); absent: a key for this process only. */
  secretKey?: string;
  /**
   * The submission workflows through Temporal (web/submissions.ts): start, progress, decide,
   * jpoll. Default: one on deps.temporal's client; null: none (submitting answers 503, result
   * pages and jpoll are unavailable).
   */
  submissions?: SubmissionService | null;
  /** Starts the submission workflow; default: the submission service's. */
  startSubmission?: StartSubmission;
}

/** JSON-RPC's paths: /json, /json/ and any suffix (the client appends method and id), any case. */
const JSON_RPC_PATH = /^\/json(?:[/?]|$)/i;

/**
 * The web server. JSON-RPC, the hot path, is answered before Express sees the request:
 * Express's request set-up and router cost about as much as the answer, and nothing in them
 * concerns JSON-RPC. Every other request goes to the Express app.
 */
export function createWebServer(deps: AppDeps): http.Server {
  const { app, jsonRpc } = createApp(deps);
  return http.createServer((req, res) => (JSON_RPC_PATH.test(req.url ?? '') ? jsonRpc(req, res) : app(req, res)));
}

function createApp(deps: AppDeps): { app: express.Express; jsonRpc: http.RequestListener } {
  const app = express();
  app.set('views', path.join(__dirname, 'views'));
  app.set('view engine', 'ejs');
  app.disable('x-powered-by');
  app.locals.site = {
    observatory: deps.config.observatory,
    usecase: deps.config.usecase,
    temporalUiUrl: deps.config.temporal.uiUrl,
  };
  // The catalog in memory and the parsed rules, shared by JSON-RPC and downloads.
  const view = new CatalogView(deps.db, deps.catalogRefreshMs);
  const rules = new RulesCache(path.join(deps.config.fileCache, 'mappings', deps.config.observatory));
  const submissions =
    deps.submissions === undefined ? createSubmissionService({ client: () => deps.temporal.client(), config: deps.config }) : (deps.submissions ?? undefined);
  const jsonRpc = jsonRpcHandler({ config: deps.config, db: deps.db, view, rules, submissions });
  app.use(downloadsRouter({ config: deps.config, view }));
  app.use('/static', express.static(path.join(__dirname, 'public'), { maxAge: '1h' }));

  // Interactive pages: a csrftoken cookie on every response, the session (which renews the
  // user's locks), then uploads (they check their multipart token while streaming), then
  // the CSRF check of every other unsafe request.
  const sessions = new Sessions(deps.db, deps.secretKey ?? randomBytes(32).toString('hex'), deps.config.siteUrl);
  const folders = new UploadFolders(deps.config.serverFiles);
  app.use(sessions.csrfCookie(), sessions.middleware(), (req, res, next) => {
    res.locals.session = req.session;
    res.locals.csrfToken = req.csrfToken;
    next();
  });
  app.use(uploadsRouter({ folders, maxUploadBytes: deps.config.maxUploadBytes }));
  app.use(requireCsrf());
  const instruments = async (): Promise<string[]> => {
    const { defaults } = await view.current();
    const context = defaults.edit || defaults.latest;
    return context ? rules.context(context).instruments().sort() : [];
  };
  app.use(accountsRouter({ db: deps.db, sessions, instruments }));
  app.use(submitRouter({ config: deps.config, db: deps.db, sessions, folders, startSubmission: deps.startSubmission ?? submissions?.startSubmission }));
  app.use(setPasswordRouter({ db: deps.db }));
  app.use(markBadRouter({ config: deps.config, db: deps.db }));
  app.use(submissionKindsRouter({ config: deps.config, db: deps.db, folders, startSubmission: deps.startSubmission ?? submissions?.startSubmission }));
  if (submissions) app.use(resultsRouter({ db: deps.db, sessions, observatory: deps.config.observatory, temporal: deps.config.temporal, submissions }));

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
  return { app, jsonRpc };
}
