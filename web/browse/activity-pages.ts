// What happened: the audit records (/recent_activity/), each delivery's place in the archive
// protocol (/delivery_status/), and the submissions' results (/old_results/).
import { AUDIT_ACTIONS } from '../../workflows/submission-types';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Router } from 'express';
import { catalogState } from '../../activities/submission';
import { auditRecords, auditValues } from '../../db/browse';
import { auditSummary, pageSize } from './catalog-pages';
import { badRequest, param, respond } from './respond';
import type { BrowseDeps } from './deps';

/** A delivery not archived after this long stands out. */
export const STUCK_AFTER_MS = 24 * 3600 * 1000;

export function activityPagesRouter(deps: BrowseDeps): Router {
  const router = Router();
  const { db, config } = deps;

  router.get('/recent_activity/', async (req, res) => {
    let limit: number;
    const filters = { user: param(req, 'user'), instrument: param(req, 'instrument').toLowerCase(), action: param(req, 'action') };
    const beforeRaw = param(req, 'before');
    try {
      limit = pageSize(req, 100);
      if (beforeRaw && !/^\d{1,12}$/.test(beforeRaw)) throw new RangeError('before must be a record id');
      for (const [k, v] of Object.entries(filters)) if (v.length > 150) throw new RangeError(`${k} is longer than 150 characters`);
    } catch (err) {
      return badRequest(req, res, (err as Error).message);
    }
    const [page, users, actions, instruments] = await Promise.all([
      auditRecords(db, filters, limit, beforeRaw ? Number(beforeRaw) : undefined),
      auditValues(db, 'username'),
      auditValues(db, 'action'),
      auditValues(db, 'instrument'),
    ]);
    const records = page.rows.map(auditSummary);
    const q = new URLSearchParams(Object.entries({ ...filters, limit: param(req, 'limit') }).filter(([, v]) => v));
    const next = page.nextBefore ? `/recent_activity/?${new URLSearchParams([...q, ['before', String(page.nextBefore)]]).toString()}` : null;
    respond(req, res, 'recent-activity', { title: 'Recent activity', records, filters, users, actions, instruments, next }, { filters, records, next });
  });

  router.get('/delivery_status/', async (req, res) => {
    const catalogs = path.join(config.serverFiles, 'catalogs');
    const deliveries = path.join(config.serverFiles, 'deliveries');
    const names = fs.existsSync(catalogs) ? fs.readdirSync(catalogs).filter((n) => n.endsWith('.cat')) : [];
    const now = Date.now();
    const list = names
      .map((catalog) => {
        const file = path.join(catalogs, catalog);
        const stat = fs.statSync(file);
        const files = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
        const state = catalogState(deliveries, catalog);
        const ageMs = now - stat.mtimeMs;
        return { catalog, delivered: new Date(stat.mtimeMs).toISOString(), age_hours: Math.round(ageMs / 360_000) / 10, state, stuck: state !== 'archived' && ageMs > STUCK_AFTER_MS, files };
      })
      .sort((x, y) => y.delivered.localeCompare(x.delivered) || y.catalog.localeCompare(x.catalog));
    respond(req, res, 'delivery-status', { title: 'Delivery status', deliveries: list }, { deliveries: list });
  });

  router.get('/old_results/', async (req, res) => {
    // A delivery's records (one per file and the catalog) name the submission in their details.
    const page = await auditRecords(db, { action: [...new Set(Object.values(AUDIT_ACTIONS))] }, 2000);
    const results: { submission: string; date: string | null; user: string; instrument: string; description: string; files: string[] }[] = [];
    for (const r of page.rows) {
      const submission = String((r.details as { submission?: unknown }).submission ?? '');
      if (!submission || results.some((x) => x.submission === submission)) continue;
      const files = (r.details as { files?: unknown }).files;
      results.push({ submission, date: r.date.toISOString(), user: r.username, instrument: r.instrument, description: r.why, files: Array.isArray(files) ? files.map(String) : [] });
      if (results.length >= 200) break;
    }
    respond(req, res, 'old-results', { title: 'Submission results', results }, { results });
  });

  return router;
}
