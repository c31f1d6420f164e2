// Builds the web server from its dependencies (no globals), so tests drive the same server
// over a real port without a separate server process. server.ts only listens.
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import express from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import type { TemporalLink } from './temporal';
import { healthReport, publicHealth } from './health';
import { securityHeaders } from './hardening';
import { passwordHashing } from '../db/password-gate';
import { CatalogView, RulesCache } from './catalog-view';
import { jsonRpcHandler } from './jsonrpc';
import { BodyBudget } from './body-budget';
import { WebMetrics } from './metrics';
import { methods } from './jsonrpc/methods';
import { refuseNul, requestErrors } from './request-errors';
import { downloadsRouter } from './downloads';
import { accountsRouter } from './accounts';
import { requireCsrf, Sessions } from './sessions';
import type { StartSubmission } from './submission-types';
import { submitRouter } from './submit';
import { submissionKindsRouter } from './submission-kinds';
import { simpleSubmitRouter } from './submit-simple';
import { refactorKindsRouter } from './refactor-kinds';
import { markBadRouter } from './mark-bad';
import { setPasswordRouter } from './set-password';
import { redcatRouter } from './redcat';
import { UploadFolders } from './upload-files';
import { uploadsRouter } from './uploads';
import { resultsRouter } from './results';
import { createSubmissionService, type SubmissionService } from './submissions';
import { maintenanceGate, mirrorRouter, opsDashboardRouter } from './ops';
import { browseRouter } from './browse';
import { NAV_LINKS } from './nav';
import { homeData } from './browse/home';
import { respond } from './browse/respond';
import { affectedRouter } from './affected';
import { createAffectedService } from './affected-service';

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
  /** Bytes of request bodies held at once (web/body-budget.ts); default from CRDS_MAX_HELD_BODY_BYTES. */
  bodyBudget?: BodyBudget;
}

/** The Express app behind each server (its routes, for the route fuzz test). */
export const expressApps = new WeakMap<http.Server, express.Express>();

/** JSON-RPC's paths: /json, /json/ and any suffix (the client appends method and id), any case. */
const JSON_RPC_PATH = /^\/json(?:[/?]|$)/i;

/**
 * The web server. JSON-RPC, the hot path, is answered before Express sees the request:
 * Express's request set-up and router cost about as much as the answer, and nothing in them
 * concerns JSON-RPC. Every other request goes to the Express app.
 */
export function createWebServer(deps: AppDeps): http.Server {
  const { app, jsonRpc } = createApp(deps);
  const server = http.createServer((req, res) => (JSON_RPC_PATH.test(req.url ?? '') ? jsonRpc(req, res) : app(req, res)));
  expressApps.set(server, app);
  return server;
}

function createApp(deps: AppDeps): { app: express.Express; jsonRpc: http.RequestListener } {
  const app = express();
  app.set('views', path.join(__dirname, 'views'));
  app.set('view engine', 'ejs');
  // Compiled templates kept (Express does so only under NODE_ENV=production): compiling a page's
  // templates cost more than rendering it. NODE_ENV=development re-reads them for editing.
  app.set('view cache', process.env.NODE_ENV !== 'development');
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.security.trustProxy);
  app.use(securityHeaders(deps.config));
  passwordHashing.setLimit(deps.config.security.passwordHashing);
  app.locals.site = {
    observatory: deps.config.observatory,
    usecase: deps.config.usecase,
    temporalUiUrl: deps.config.temporal.uiUrl,
    nav: NAV_LINKS,
  };
  // The catalog in memory and the parsed rules, shared by JSON-RPC and downloads.
  const view = new CatalogView(deps.db, deps.catalogRefreshMs);
  const rules = new RulesCache(path.join(deps.config.fileCache, 'mappings', deps.config.observatory));
  const submissions =
    deps.submissions === undefined ? createSubmissionService({ client: () => deps.temporal.client(), config: deps.config, db: deps.db }) : (deps.submissions ?? undefined);
  // One budget of request bytes held in memory, for JSON-RPC bodies and forms alike.
  const budget = deps.bodyBudget ?? new BodyBudget();
  const methodDeps = { config: deps.config, db: deps.db, view, rules, submissions };
  const metrics = new WebMetrics(new Set(Object.keys(methods(methodDeps))));
  // Maintenance (a restore in progress): pages answer 503 and JSON-RPC a clear error.
  const maintenance = maintenanceGate(deps.config);
  const jsonRpc = maintenance.jsonRpc(jsonRpcHandler(methodDeps, budget, metrics));
  app.use(metrics.http());
  app.get('/metrics', metrics.endpoint());
  app.use(maintenance.pages());
  app.use(budget.forms(256 * 1024));
  app.use(mirrorRouter(deps.config));
  app.use(downloadsRouter({ config: deps.config, view }));
  app.get('/static/vendor/chart.umd.js', (_req, res) => res.sendFile(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js')));
  app.use('/static', express.static(path.join(__dirname, 'public'), { maxAge: '1h' }));

  // Interactive pages: the session (which renews the user's locks) and a csrftoken cookie on
  // every response, then uploads (they check their multipart token while streaming), then
  // the CSRF check of every other unsafe request.
  const sessions = new Sessions(deps.db, deps.secretKey ?? randomBytes(32).toString('hex'), deps.config.siteUrl, deps.config.security.sessionIdleMs);
  const folders = new UploadFolders(deps.config.serverFiles);
  app.use(sessions.middleware(), (req, res, next) => {
    res.locals.session = req.session;
    res.locals.csrfToken = req.csrfToken;
    next();
  });
  app.use(uploadsRouter({ folders, maxUploadBytes: deps.config.maxUploadBytes, quota: { bytes: deps.config.security.userQuotaBytes, files: deps.config.security.userQuotaFiles } }));
  app.use(browseRouter({ db: deps.db, config: deps.config, rules }));
  app.use(requireCsrf());
  const instruments = async (): Promise<string[]> => {
    const { defaults } = await view.current();
    const context = defaults.edit || defaults.latest;
    return context ? rules.context(context).instruments().sort() : [];
  };
  app.use(refuseNul());
  app.use(accountsRouter({ config: deps.config, db: deps.db, sessions, instruments }));
  app.use(submitRouter({ config: deps.config, db: deps.db, sessions, folders, startSubmission: deps.startSubmission ?? submissions?.startSubmission }));
  app.use(opsDashboardRouter({ config: deps.config, db: deps.db, temporal: deps.temporal }));
  app.use(setPasswordRouter({ db: deps.db }));
  app.use(markBadRouter({ config: deps.config, db: deps.db }));
  app.use(redcatRouter({ config: deps.config, db: deps.db, folders, instruments, startSubmission: deps.startSubmission ?? submissions?.startSubmission }));
  app.use(submissionKindsRouter({ config: deps.config, db: deps.db, folders, startSubmission: deps.startSubmission ?? submissions?.startSubmission }));
  app.use(simpleSubmitRouter({ config: deps.config, db: deps.db, folders, startSubmission: deps.startSubmission ?? submissions?.startSubmission }));
  app.use(refactorKindsRouter({ config: deps.config, db: deps.db, startSubmission: deps.startSubmission ?? submissions?.startSubmission }));
  if (submissions) app.use(resultsRouter({ db: deps.db, sessions, observatory: deps.config.observatory, temporal: deps.config.temporal, submissions }));
  app.use(affectedRouter({ config: deps.config, db: deps.db, service: createAffectedService({ client: () => deps.temporal.client(), config: deps.config, db: deps.db }) }));

  // Where the database and Temporal are, and why they fail, only for superusers.
  app.get('/', async (req, res) => {
    const [health, home] = await Promise.all([healthReport(deps), homeData(deps.db)]);
    const healthDetails = !!req.user?.isSuperuser;
    respond(req, res, 'home', { title: 'Home', health, healthDetails, ...home }, { health: healthDetails ? health : publicHealth(health), ...home });
  });

  app.get('/health', async (req, res) => {
    const report = await healthReport(deps);
    res.status(report.status === 'ok' ? 200 : 503).json(req.user?.isSuperuser ? report : publicHealth(report));
  });

  app.use((req, res) => {
    res.status(404).render('error', { title: 'Not found', message: `No page at ${req.path}` });
  });

  // Express 5 passes rejected promises of async handlers here.
  app.use(requestErrors());
  return { app, jsonRpc };
}
