// Maintenance mode: while a restore (or a mirror) rewrites the database and the folders, the
// web answers 503 and JSON-RPC a clear error, submissions cannot start and the worker's
// schedules are paused. The state is a small file in the server files (MAINTENANCE.json), so
// every web process sees it with one stat() and it survives any process dying mid-restore.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MaintenanceState {
  /** What the site is doing, shown on the 503 page and in the JSON-RPC error. */
  reason: string;
  since: string;
  /** The workflow that put the site in maintenance. */
  workflowId?: string;
  /** Schedules this maintenance paused (and only those are unpaused when it ends). */
  pausedSchedules: string[];
}

export const maintenanceFile = (serverFiles: string): string => path.join(serverFiles, 'MAINTENANCE.json');

export function readMaintenance(serverFiles: string): MaintenanceState | undefined {
  try {
    return JSON.parse(fs.readFileSync(maintenanceFile(serverFiles), 'utf8')) as MaintenanceState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A file that is there but unreadable still means maintenance: never open by mistake.
    return { reason: `maintenance (state file unreadable: ${(err as Error).message})`, since: '', pausedSchedules: [] };
  }
}

/** Writes the state under a temporary name and renames it: readers never see half a file. */
export function writeMaintenance(serverFiles: string, state: MaintenanceState): void {
  fs.mkdirSync(serverFiles, { recursive: true });
  const file = maintenanceFile(serverFiles);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 1));
  fs.renameSync(`${file}.tmp`, file);
}

export function clearMaintenance(serverFiles: string): void {
  fs.rmSync(maintenanceFile(serverFiles), { force: true });
}

/**
 * The web's cheap check: the state is re-read at most every `ttlMs` (one stat when
 * nothing changed), so a request costs nothing measurable.
 */
export class MaintenanceWatch {
  private checkedAt = 0;
  private mtimeMs = -1;
  private state: MaintenanceState | undefined;

  constructor(
    private readonly serverFiles: string,
    private readonly ttlMs = 500,
  ) {}

  current(): MaintenanceState | undefined {
    const now = Date.now();
    if (now - this.checkedAt < this.ttlMs) return this.state;
    this.checkedAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(maintenanceFile(this.serverFiles)).mtimeMs;
    } catch {
      this.mtimeMs = -1;
      return (this.state = undefined);
    }
    if (mtimeMs !== this.mtimeMs) {
      this.mtimeMs = mtimeMs;
      this.state = readMaintenance(this.serverFiles);
    }
    return this.state;
  }
}
