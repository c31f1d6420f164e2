// The operations flows (the original's nightly cron job, restore_server and mirror_server):
// each step an activity, reported; progress a query (`progress`) that ops/backup, ops/restore
// and ops/mirror follow in the terminal. Deterministic code only.
import { ApplicationFailure, defineQuery, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BackupActivities, BackupSummary, RestoreFilesResult } from '../activities/backup';
import type { MaintenanceActivities } from '../activities/maintenance-mode';
import type { MirrorActivities, MirrorEntry } from '../activities/mirror';
import type { NightlyActivities, NightlyReport, StepOutcome } from '../activities/nightly';
import type { ConsistencyReport } from '../activities/consistency';

type OpsActivities = BackupActivities & MaintenanceActivities & MirrorActivities & NightlyActivities;

/** Long file work heartbeats; a dead worker's attempt is retried by another within minutes. */
const acts = proxyActivities<OpsActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 3 },
});
/** Quick steps (maintenance switch, checks that do not heartbeat). */
const quick = proxyActivities<OpsActivities>({
  startToCloseTimeout: '2 hours',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
/** Mirror batches: a killed worker's batch is taken over quickly. */
const mirrorBatch = proxyActivities<OpsActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export interface OpsProgress {
  phase: string;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  steps: StepOutcome[];
}

export const opsProgressQuery = defineQuery<OpsProgress>('progress');

function tracker(): OpsProgress {
  const progress: OpsProgress = { phase: 'starting', filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, steps: [] };
  setHandler(opsProgressQuery, () => progress);
  return progress;
}

const message = (err: unknown): string => {
  const e = err as { cause?: { message?: string }; message?: string };
  return e?.cause?.message ?? e?.message ?? String(err);
};

/** Runs one step, recording its outcome; a failed step is reported and does not stop the others. */
async function step<T>(progress: OpsProgress, name: string, run: () => Promise<T>): Promise<StepOutcome> {
  progress.phase = name;
  const started = Date.now();
  let outcome: StepOutcome;
  try {
    outcome = { step: name, ok: true, seconds: 0, result: await run() };
  } catch (err) {
    outcome = { step: name, ok: false, seconds: 0, error: message(err) };
  }
  outcome.seconds = (Date.now() - started) / 1000;
  progress.steps.push(outcome);
  return outcome;
}

/** A backup's name from the run's start (UTC): the same on every replay and retry. */
const nameAt = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');

/** `nightly` schedule, 03:05 site time. */
export async function nightlyWorkflow(): Promise<NightlyReport> {
  const progress = tracker();
  const info = workflowInfo();
  const startedAt = new Date();
  const name = nameAt(startedAt);
  await step(progress, 'backup', () => acts.backupSite({ name }));
  await step(progress, 'consistency', () => quick.checkConsistency({ at: startedAt.toISOString() }));
  await step(progress, 'self-test', () => quick.selfTest());
  // The test suite runs for many minutes: heartbeating, so a dead worker's attempt is noticed.
  await step(progress, 'rebuild', () => acts.rebuildSite({ name }));
  const diag = await step(progress, 'diagnostics', () => quick.collectDiagnostics());
  const steps = progress.steps.filter((s) => s.step !== 'diagnostics');
  const report = {
    name,
    workflowId: info.workflowId,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    ok: progress.steps.every((s) => s.ok),
    steps: [...steps, { ...diag, result: undefined }],
    diagnostics: diag.ok ? (diag.result as NightlyReport['diagnostics']) : undefined,
  };
  progress.phase = 'report';
  const mailed = await quick.reportNightly(report);
  progress.phase = 'done';
  return { ...report, mailed };
}

/** ops/backup: one backup now. */
export async function backupWorkflow(input: { name?: string } = {}): Promise<BackupSummary> {
  const progress = tracker();
  progress.phase = 'backup';
  const result = await acts.backupSite({ name: input.name ?? nameAt(new Date()) });
  Object.assign(progress, { phase: 'done', filesDone: result.files, filesTotal: result.files, bytesDone: result.bytes, bytesTotal: result.bytes });
  return result;
}

export interface RestoreInput {
  /** A backup name, `latest` (default) or a backup folder. */
  backup?: string;
  /** Move files the backup does not list aside (default: only list them). */
  prune?: boolean;
  /** A folder holding references the site lacks (flat, or a CRDS cache). */
  referencesFrom?: string;
}

export interface RestoreResult {
  backup: string;
  files: RestoreFilesResult;
  orphans: string[];
  movedTo?: string;
  unpaused: string[];
}

/** Maintenance on, database and files restored and verified, orphans listed, maintenance off. */
async function restoreSteps(progress: OpsProgress, dir: string, name: string, input: RestoreInput, reason: string): Promise<RestoreResult> {
  progress.phase = 'maintenance';
  await quick.enterMaintenance({ reason, workflowId: workflowInfo().workflowId });
  let files: RestoreFilesResult;
  if (patched('restore-database-and-files-at-once')) {
    // The dump loads in the database's own process while the files are copied and verified;
    // both end (failed or not) before the restore goes on or reports.
    progress.phase = 'database and files';
    const [database, copied] = await Promise.allSettled([acts.restoreDatabase({ dir }), acts.restoreFiles({ dir, referencesFrom: input.referencesFrom })]);
    if (database.status === 'rejected') throw database.reason;
    if (copied.status === 'rejected') throw copied.reason;
    files = copied.value;
  } else {
    progress.phase = 'database';
    await acts.restoreDatabase({ dir });
    progress.phase = 'files';
    files = await acts.restoreFiles({ dir, referencesFrom: input.referencesFrom });
  }
  progress.filesDone = files.restored + files.verified;
  if (files.failed.length || files.missing.length) {
    // The site stays closed: serving a catalog whose files are not all there is worse.
    throw ApplicationFailure.nonRetryable(
      `restore of ${name} incomplete, the site stays in maintenance: ${files.missing.length} references missing (${files.missing.slice(0, 10).join(', ')}; give --references DIR), ` +
        `${files.failed.length} files wrong (${files.failed.slice(0, 5).map((f) => `${f.path}: ${f.reason}`).join('; ')}). Rerun, or reopen with ops/manage maintenance off.`,
      'RestoreIncomplete',
      files,
    );
  }
  progress.phase = 'orphans';
  const orphans = await quick.restoreOrphans({ dir, prune: input.prune ?? false });
  progress.phase = 'reopen';
  const { unpaused } = await quick.leaveMaintenance();
  progress.phase = 'done';
  return { backup: name, files, orphans: orphans.orphans, movedTo: orphans.movedTo, unpaused };
}

/** ops/restore [BACKUP]. */
export async function restoreWorkflow(input: RestoreInput = {}): Promise<RestoreResult> {
  const progress = tracker();
  progress.phase = 'resolve';
  const b = await quick.resolveBackupDir({ backup: input.backup });
  progress.filesTotal = b.files + b.references;
  progress.bytesTotal = b.bytes;
  return restoreSteps(progress, b.dir, b.name, input, `restoring backup ${b.name}`);
}

export interface MirrorInput {
  source: string;
  /** Batches fetched at once (default 4). */
  parallel?: number;
  /** Files per batch (default 100). */
  batchFiles?: number;
}

export interface MirrorResult extends RestoreResult {
  source: string;
  fetched: number;
  skipped: number;
  bytes: number;
  consistency: ConsistencyReport;
}

/** ops/mirror SOURCE_URL: the source's latest backup and every file we lack, then a restore from it and the checks. */
export async function mirrorWorkflow(input: MirrorInput): Promise<MirrorResult> {
  const progress = tracker();
  progress.phase = 'manifest';
  const plan = await quick.mirrorPlan({ source: input.source });
  progress.filesTotal = plan.entries.length;
  progress.bytesTotal = plan.entries.reduce((n, e) => n + e.size, 0);
  const size = input.batchFiles ?? 100;
  const batches: MirrorEntry[][] = [];
  for (let i = 0; i < plan.entries.length; i += size) batches.push(plan.entries.slice(i, i + size));
  progress.phase = 'fetch';
  const totals = { fetched: 0, skipped: 0, bytes: 0 };
  let next = 0;
  const lane = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const r = await mirrorBatch.mirrorFetch({ source: plan.source, backupName: plan.manifest.name, dir: plan.dir, entries: batch });
      totals.fetched += r.fetched;
      totals.skipped += r.skipped;
      totals.bytes += r.bytes;
      progress.filesDone += batch.length;
      progress.bytesDone += batch.reduce((n, e) => n + e.size, 0);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.parallel ?? 4) }, lane));
  await quick.mirrorComplete({ dir: plan.dir, manifest: plan.manifest });
  const restored = await restoreSteps(progress, plan.dir, plan.manifest.name, {}, `mirroring ${plan.source}`);
  progress.phase = 'consistency';
  const consistency = await quick.checkConsistency({});
  progress.phase = 'done';
  return { ...restored, source: plan.source, ...totals, consistency };
}
