// Affected-datasets runs, their batches and the reprocessing monitor's state (migration
// 0008). Plain SQL that both dialects accept; a batch's row is written once (INSERT that
// ignores a duplicate key), so a batch retried on another worker is never counted twice.
import { QueryTypes } from 'sequelize';
import type { Database } from './index';

export type RunKind = 'activation' | 'preview';
export type RunStatus = 'running' | 'completed' | 'failed';

/** Per instrument, per type: datasets whose reference changes (the client's update counts). */
export type TypeCounts = Record<string, Record<string, number>>;

export interface BatchResult {
  instrument: string;
  datasets: number;
  /** Compound ids of affected datasets (no new-context failure), sorted. */
  affectedIds: string[];
  counts: TypeCounts;
  errors: number;
  /** Error message without its dataset → how often. */
  uniqueErrors: Record<string, number>;
  /** The first error lines, whole. */
  errorSamples: string[];
}

export interface RunRow {
  runKey: string;
  workflowId: string;
  kind: RunKind;
  oldContext: string;
  newContext: string;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  datasets: number;
  affected: number;
  errors: number;
  summary: Record<string, unknown>;
  computationDir: string;
  catalogStamp: string;
  requestedBy: string;
}

const insertIgnore = (db: Database) => (db.dialect === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE');

function toRun(r: Record<string, unknown>): RunRow {
  return {
    runKey: String(r.run_key),
    workflowId: String(r.workflow_id),
    kind: r.kind as RunKind,
    oldContext: String(r.old_context),
    newContext: String(r.new_context),
    status: r.status as RunStatus,
    startedAt: new Date(r.started_at as string),
    finishedAt: r.finished_at ? new Date(r.finished_at as string) : null,
    datasets: Number(r.datasets),
    affected: Number(r.affected),
    errors: Number(r.errors),
    summary: JSON.parse(String(r.summary || '{}')),
    computationDir: String(r.computation_dir),
    catalogStamp: String(r.catalog_stamp),
    requestedBy: String(r.requested_by),
  };
}

/** Records a run as started (again after a retry: the first start is kept). */
export async function startRun(db: Database, run: Pick<RunRow, 'runKey' | 'workflowId' | 'kind' | 'oldContext' | 'newContext' | 'catalogStamp' | 'requestedBy'>): Promise<void> {
  await db.sequelize.query(
    `${insertIgnore(db)} INTO affected_runs (run_key, workflow_id, kind, old_context, new_context, status, started_at, summary, catalog_stamp, requested_by) VALUES (?, ?, ?, ?, ?, 'running', ?, '{}', ?, ?)`,
    { replacements: [run.runKey, run.workflowId, run.kind, run.oldContext, run.newContext, new Date(), run.catalogStamp, run.requestedBy] },
  );
}

export async function finishRun(
  db: Database,
  runKey: string,
  outcome: { status: RunStatus; datasets: number; affected: number; errors: number; summary: Record<string, unknown>; computationDir: string },
): Promise<void> {
  await db.sequelize.query(
    'UPDATE affected_runs SET status = ?, finished_at = ?, datasets = ?, affected = ?, errors = ?, summary = ?, computation_dir = ? WHERE run_key = ?',
    { replacements: [outcome.status, new Date(), outcome.datasets, outcome.affected, outcome.errors, JSON.stringify(outcome.summary), outcome.computationDir, runKey] },
  );
}

export async function getRun(db: Database, runKey: string): Promise<RunRow | undefined> {
  const [row] = await db.sequelize.query<Record<string, unknown>>('SELECT * FROM affected_runs WHERE run_key = ?', { replacements: [runKey], type: QueryTypes.SELECT });
  return row ? toRun(row) : undefined;
}

/** Runs newest first; of one kind, or of one transition, when asked. */
export async function listRuns(db: Database, filter: { workflowId?: string; kind?: RunKind; oldContext?: string; newContext?: string; status?: RunStatus; limit?: number } = {}): Promise<RunRow[]> {
  const where: string[] = [];
  const replacements: unknown[] = [];
  for (const [column, value] of [
    ['workflow_id', filter.workflowId],
    ['kind', filter.kind],
    ['old_context', filter.oldContext],
    ['new_context', filter.newContext],
    ['status', filter.status],
  ] as const) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    replacements.push(value);
  }
  const rows = await db.sequelize.query<Record<string, unknown>>(
    `SELECT * FROM affected_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, run_key DESC LIMIT ${Math.max(1, Math.min(filter.limit ?? 200, 1000))}`,
    { replacements, type: QueryTypes.SELECT },
  );
  return rows.map(toRun);
}

/** The batch's stored result, if an earlier attempt finished it. */
export async function batchResult(db: Database, runKey: string, batchNo: number): Promise<(BatchResult & { worker: string }) | undefined> {
  const [row] = await db.sequelize.query<{ result: string; worker: string }>('SELECT result, worker FROM affected_batches WHERE run_key = ? AND batch_no = ?', {
    replacements: [runKey, batchNo],
    type: QueryTypes.SELECT,
  });
  return row ? { ...(JSON.parse(row.result) as BatchResult), worker: row.worker } : undefined;
}

/** Stores a batch's result once; returns the stored one (an earlier attempt's wins). */
export async function storeBatch(db: Database, runKey: string, batchNo: number, result: BatchResult, worker: string): Promise<BatchResult & { worker: string }> {
  await db.sequelize.query(
    `${insertIgnore(db)} INTO affected_batches (run_key, batch_no, datasets, result, worker, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    { replacements: [runKey, batchNo, result.datasets, JSON.stringify(result), worker, new Date()] },
  );
  return (await batchResult(db, runKey, batchNo))!;
}

/** Every stored batch of a run, in batch order. */
export async function runBatches(db: Database, runKey: string): Promise<(BatchResult & { batchNo: number; worker: string })[]> {
  const rows = await db.sequelize.query<{ batch_no: number; result: string; worker: string }>(
    'SELECT batch_no, result, worker FROM affected_batches WHERE run_key = ? ORDER BY batch_no',
    { replacements: [runKey], type: QueryTypes.SELECT },
  );
  return rows.map((r) => ({ ...(JSON.parse(r.result) as BatchResult), batchNo: Number(r.batch_no), worker: r.worker }));
}

export async function getReprocessingState(db: Database, name: string): Promise<string | undefined> {
  const [row] = await db.sequelize.query<{ value: string }>('SELECT value FROM reprocessing_state WHERE name = ?', { replacements: [name], type: QueryTypes.SELECT });
  return row?.value;
}

export async function setReprocessingState(db: Database, name: string, value: string): Promise<void> {
  await db.sequelize.transaction(async (transaction) => {
    const [n] = (await db.sequelize.query('UPDATE reprocessing_state SET value = ?, updated_at = ? WHERE name = ?', { replacements: [value, new Date(), name], transaction })) as [unknown, unknown];
    void n;
    await db.sequelize.query(`${insertIgnore(db)} INTO reprocessing_state (name, value, updated_at) VALUES (?, ?, ?)`, { replacements: [name, value, new Date()], transaction });
  });
}
