// Housekeeping of abandoned work (issue 13 item 12), run by the `clean-abandoned-uploads`
// schedule: partial uploads and whole-file temporaries (`<server files>/uploads/<user>/`),
// temporaries left by a crashed copy or write (`*.tmp` in submissions/, catalogs/ and the
// cache's mapping folder) untouched for CRDS_UPLOAD_MAX_AGE_HOURS, and web sessions past their
// idle or absolute lifetime. What it removes is returned (the run's result in Temporal UI) and
// audited once per run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config';
import type { Database } from '../db';
import { deleteExpiredWebSessions } from '../db/web-sessions';

/** The original's session lifetime, as web/sessions.ts. */
const SESSION_MAX_AGE_MS = 18 * 60 * 60 * 1000;

export interface RemovedFile {
  path: string;
  bytes: number;
  /** Last modified, ISO. */
  modified: string;
}

export interface CleanupReport {
  removed: RemovedFile[];
  bytes: number;
  sessions: number;
  olderThan: string;
}

/** Regular files under `dir` (to `depth` levels) modified before `cutoff`, whose name passes `wanted`. */
function staleFiles(dir: string, depth: number, cutoff: number, wanted: (name: string) => boolean): RemovedFile[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: RemovedFile[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() && depth > 0) found.push(...staleFiles(full, depth - 1, cutoff, wanted));
    else if (e.isFile() && wanted(e.name)) {
      const st = fs.lstatSync(full, { throwIfNoEntry: false });
      if (st && st.mtimeMs < cutoff) found.push({ path: full, bytes: st.size, modified: st.mtime.toISOString() });
    }
  }
  return found;
}

export function createCleanupActivities(deps: { db: Database; config: Config }) {
  const { db, config } = deps;
  return {
    async cleanAbandonedUploads(): Promise<CleanupReport> {
      const now = Date.now();
      const cutoff = now - config.security.abandonedUploadMs;
      const temporary = (name: string) => name.endsWith('.tmp');
      const candidates = [
        // Everything in uploads/<user>/ is in progress by definition (complete files are in ingest/).
        ...staleFiles(path.join(config.serverFiles, 'uploads'), 1, cutoff, () => true),
        ...staleFiles(path.join(config.serverFiles, 'submissions'), 1, cutoff, temporary),
        ...staleFiles(path.join(config.serverFiles, 'catalogs'), 0, cutoff, temporary),
        ...staleFiles(path.join(config.fileCache, 'mappings', config.observatory), 0, cutoff, temporary),
      ];
      const removed: RemovedFile[] = [];
      for (const f of candidates) {
        try {
          fs.rmSync(f.path);
          removed.push(f);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      const sessions = await deleteExpiredWebSessions(db, config.security.sessionIdleMs, SESSION_MAX_AGE_MS, new Date(now));
      const report = { removed, bytes: removed.reduce((n, f) => n + f.bytes, 0), sessions, olderThan: new Date(cutoff).toISOString() };
      if (removed.length) {
        await db.models.AuditRecord.create({
          date: new Date(now),
          username: 'crds-server',
          action: 'clean abandoned uploads',
          why: `${removed.length} file(s), ${report.bytes} bytes, untouched since before ${report.olderThan}`,
          details: { ...report },
        });
      }
      return report;
    },
  };
}

export type CleanupActivities = ReturnType<typeof createCleanupActivities>;
