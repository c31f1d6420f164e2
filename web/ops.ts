// The operations pages: the maintenance gate (503 pages and a clear JSON-RPC error while a
// restore or mirror runs), the dashboard /ops/ (superusers and the `ops` group) and the
// token-protected mirror endpoint another site's `ops/mirror` reads (CRDS_MIRROR_TOKEN).
import { timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Config } from '../config';
import type { Database } from '../db';
import { MaintenanceWatch } from '../db/maintenance';
import { backupsDir, LATEST, listBackups, readManifest } from '../activities/backup';
import { readNightlyReports } from '../activities/nightly';
import { MIRROR_PREFIX } from '../activities/mirror';
import type { TemporalLink } from './temporal';

export interface OpsDeps {
  config: Config;
  db: Database;
  temporal: TemporalLink;
}

/** Pages that stay open in maintenance: health, static files, and the dashboard itself. */
const OPEN_IN_MAINTENANCE = /^\/(health|static\/|ops\/)/;

export function maintenanceGate(config: Config) {
  const watch = new MaintenanceWatch(config.serverFiles);
  const message = (reason: string) => `The CRDS ${config.observatory.toUpperCase()} server is in maintenance (${reason}); it will be back shortly. Please try again later.`;
  return {
    watch,
    /** Wraps the JSON-RPC handler: in maintenance every call answers a MaintenanceError. */
    jsonRpc(handler: (req: IncomingMessage, res: ServerResponse) => void) {
      return (req: IncomingMessage, res: ServerResponse) => {
        const state = watch.current();
        if (!state) return handler(req, res);
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
        req.on('end', () => {
          let id: unknown = null;
          try {
            id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: unknown }).id ?? null;
          } catch {
            /* no id to echo */
          }
          const text = message(state.reason);
          const body = JSON.stringify({ jsonrpc: '1.0', id, result: null, error: { name: 'MaintenanceError', code: 503, message: `MaintenanceError: ${text}`, data: null } });
          res.writeHead(200, { 'Content-Type': 'application/json-rpc', 'Retry-After': '300', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        });
      };
    },
    /** Express middleware: every page but health, static files and /ops/ answers 503. */
    pages() {
      return (req: Request, res: Response, next: NextFunction) => {
        const state = watch.current();
        if (!state || OPEN_IN_MAINTENANCE.test(req.path)) return next();
        res.set('Retry-After', '300');
        res.status(503).render('error', { title: 'In maintenance', message: message(state.reason), errorMessage: message(state.reason) });
      };
    },
  };
}

function tokenMatches(config: Config, header: string | undefined): boolean {
  const expected = config.ops.mirrorToken;
  const given = /^Bearer (.+)$/.exec(header ?? '')?.[1];
  if (!expected || !given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The source side of ops/mirror: the latest backup's manifest and files, and undistributed references. */
export function mirrorRouter(config: Config): Router {
  const router = express.Router();
  router.use(MIRROR_PREFIX, (req, res, next) => {
    if (!config.ops.mirrorToken) return void res.status(403).type('text').send('mirroring is not enabled on this site (CRDS_MIRROR_TOKEN is not set)');
    if (!tokenMatches(config, req.get('authorization'))) return void res.status(403).type('text').send('wrong or missing mirror token');
    next();
  });
  router.get(`${MIRROR_PREFIX}/manifest.json`, (_req, res) => {
    const link = path.join(backupsDir(config), LATEST);
    if (!fs.existsSync(link)) return void res.status(404).type('text').send('this site has no backup yet (ops/backup)');
    res.json(readManifest(fs.realpathSync(link)));
  });
  router.get(`${MIRROR_PREFIX}/backups/:name/*rest`, (req, res) => {
    const name = String(req.params.name);
    const rel = ([] as string[]).concat((req.params as Record<string, string | string[]>).rest ?? []).join('/');
    const dir = path.join(backupsDir(config), name);
    let manifest;
    try {
      manifest = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ? readManifest(dir) : undefined;
    } catch {
      manifest = undefined;
    }
    // Only files the manifest lists are served: never anything else under the backups.
    const listed = manifest && [manifest.database, ...manifest.files].some((e) => e.path === rel);
    if (!listed) return void res.status(404).type('text').send('not a file of that backup');
    res.sendFile(path.join(dir, rel));
  });
  router.get(`${MIRROR_PREFIX}/references/:name`, (req, res) => {
    const name = String(req.params.name);
    const file = path.join(config.fileCache, 'references', config.observatory, name);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || !fs.existsSync(file)) return void res.status(404).type('text').send('no such reference');
    res.sendFile(file);
  });
  return router;
}

async function isOps(db: Database, req: Request): Promise<boolean> {
  const user = req.user;
  if (!user) return false;
  if (user.isSuperuser) return true;
  const group = await db.models.Group.findOne({ where: { name: 'ops' } });
  return !!group && (await db.models.UserGroup.count({ where: { userId: user.id, groupId: group.id } })) > 0;
}

const TEMPORAL_TIMEOUT_MS = 5000;

/** The dashboard: schedules, recent runs, the last nightly report, backups, findings, disk usage. */
export function opsDashboardRouter(deps: OpsDeps): Router {
  const router = express.Router();
  const { config } = deps;
  router.get(['/ops', '/ops/'], async (req, res) => {
    if (!req.user) return void res.redirect(`/login/?next=${encodeURIComponent('/ops/')}`);
    if (!(await isOps(deps.db, req))) return void res.status(403).render('error', { title: 'Forbidden', message: 'The operations dashboard is for superusers and members of the ops group.' });
    const ui = `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
    let schedules: { id: string; paused: boolean; next?: Date; last?: Date; lastWorkflowId?: string; lastRunId?: string; lastStatus?: string }[] = [];
    let runs: { workflowId: string; runId: string; type: string; status: string; start: Date; close?: Date }[] = [];
    let temporalError: string | undefined;
    try {
      const client = await deps.temporal.client();
      const within = <T>(p: Promise<T>) => client.connection.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, () => p);
      await within(
        (async () => {
          for await (const s of client.schedule.list()) {
            const d = await client.schedule.getHandle(s.scheduleId).describe();
            const last = d.info.recentActions[d.info.recentActions.length - 1];
            const row = { id: s.scheduleId, paused: d.state.paused, next: d.info.nextActionTimes[0], last: last?.takenAt, lastWorkflowId: last?.action.workflow.workflowId, lastRunId: last?.action.workflow.firstExecutionRunId, lastStatus: undefined as string | undefined };
            if (last) row.lastStatus = (await client.workflow.getHandle(last.action.workflow.workflowId, last.action.workflow.firstExecutionRunId).describe().catch(() => undefined))?.status.name;
            schedules.push(row);
          }
          for await (const w of client.workflow.list({ pageSize: 25 })) {
            runs.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, status: w.status.name, start: w.startTime, close: w.closeTime });
            if (runs.length >= 25) break;
          }
        })(),
      );
    } catch (err) {
      temporalError = err instanceof Error ? err.message : String(err);
      schedules = schedules.length ? schedules : [];
      runs = runs.length ? runs : [];
    }
    const reports = readNightlyReports(config, 30);
    const backups = listBackups(config).map((b) => ({ name: b.name, createdAt: b.manifest.createdAt, bytes: b.manifest.bytes, files: b.manifest.files.length, references: b.manifest.references.length, seconds: b.manifest.seconds }));
    // Disk usage per folder over the last 30 nights, oldest first, for the chart.
    const nights = reports.filter((r) => r.diagnostics).reverse();
    const chart = {
      labels: nights.map((r) => r.name.slice(0, 10)),
      folders: [...new Set(nights.flatMap((r) => r.diagnostics!.disk.map((d) => d.folder)))].map((folder) => ({
        folder,
        mb: nights.map((r) => (r.diagnostics!.disk.find((d) => d.folder === folder)?.bytes ?? 0) / 1e6),
      })),
    };
    res.render('ops', { title: 'Operations', ui, schedules, runs, temporalError, report: reports[0], backups, chart, maintenance: maintenanceGate(config).watch.current() });
  });
  return router;
}
