// Affected datasets of a context transition (crds-protocol.md §7), the activities of
// workflows/affected.ts: plan (diff, types, datasets-since dates, batches of dataset ids),
// one activity per batch (best references under both contexts, any worker may take one;
// its result is stored once, so a retried batch never counts twice), finish (merge, the
// original's results folder, the catalog's affected_datasets row), mail, and the
// reprocessing monitor's state.
import { Context } from '@temporalio/activity';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import { QueryTypes } from 'sequelize';
import { MappingStore, type PipelineContext } from '../crds';
import { planTransition, productId, TransitionComparer, type TransitionPlan } from '../crds/affected';
import type { Config } from '../config';
import type { Database } from '../db';
import { defaultContexts } from '../db/catalog';
import { datasetCatalogStamp } from '../db/datasets';
import {
  batchResult,
  finishRun,
  getReprocessingState,
  listRuns,
  runBatches,
  setReprocessingState,
  startRun,
  storeBatch,
  type BatchResult,
  type RunKind,
  type TypeCounts,
} from '../db/affected-runs';

export interface AffectedInput {
  observatory: string;
  oldContext: string;
  newContext: string;
  kind: RunKind;
  requestedBy?: string;
  /** Activation: take a finished preview's result when the dataset catalog is unchanged. */
  reusePreview?: boolean;
  /** Datasets per batch (default 5000). */
  batchSize?: number;
  /** Batches in flight at once (default 8). */
  parallelism?: number;
}

export interface DatasetBatch {
  no: number;
  instrument: string;
  since: string;
  firstId: string;
  lastId: string;
  count: number;
}

export interface AffectedPlanResult {
  plan: TransitionPlan;
  batches: DatasetBatch[];
  datasets: number;
  catalogStamp: string;
  /** A finished preview of the same transition over the same datasets. */
  reuseRunKey?: string;
}

export interface BatchSummary {
  no: number;
  datasets: number;
  affected: number;
  errors: number;
  counts: TypeCounts;
  worker: string;
  /** Whether an earlier attempt had already stored it. */
  stored: boolean;
}

export interface AffectedOutcome {
  computationDir: string;
  datasets: number;
  affected: number;
  errors: number;
  bestrefsStatus: number;
  counts: TypeCounts;
  reusedFrom?: string;
}

const READ_CHUNK = 1000;
const SAMPLE_ERRORS = 50;
export const WORKER_IDENTITY = `${os.hostname()}:${process.pid}`;

function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity (unit use)
  }
}

function log(message: string): void {
  try {
    Context.current().log.info(message);
  } catch {
    console.log(message);
  }
}

/** Serial of a context name, hst_0729.pmap → 0729. */
export function contextSerial(context: string): string {
  return /_(\d+)\.pmap$/.exec(context)?.[1] ?? context.replace(/\.pmap$/, '');
}

/** The results folder name of a transition computed at `startedMs` (the original's form). */
export function computationDirName(startedMs: number, oldContext: string, newContext: string): string {
  const iso = new Date(startedMs).toISOString();
  return `${iso.slice(0, 10)}:${iso.slice(11, 19)}_${contextSerial(oldContext)}_${contextSerial(newContext)}`;
}

export function addCounts(into: TypeCounts, more: TypeCounts): TypeCounts {
  for (const [instrument, types] of Object.entries(more)) {
    const row = (into[instrument] ??= {});
    for (const [type, n] of Object.entries(types)) row[type] = (row[type] ?? 0) + n;
  }
  return into;
}

export function createAffectedActivities(deps: { db: Database; config: Config }) {
  const { db, config } = deps;
  const mappingsDir = path.join(config.fileCache, 'mappings', config.observatory);
  // Every dataset of the archive under two contexts: rmaps memoise their choices (crds/choice-memo.ts).
  const store = new MappingStore(mappingsDir, { ignoreChecksum: 'warn', memoizeChoices: true });
  const load = (name: string) => fs.readFileSync(path.join(mappingsDir, path.basename(name)), 'utf8');
  const comparers = new Map<string, Promise<TransitionComparer>>();

  const rejectedFiles = async (): Promise<string[]> =>
    (await db.models.CatalogFile.findAll({ attributes: ['name'], where: { rejected: true } })).map((r) => r.name);

  /** One comparer per transition per process: its plan and contexts are parsed once. */
  const comparerFor = (oldContext: string, newContext: string, plan: TransitionPlan): Promise<TransitionComparer> => {
    const key = `${oldContext}->${newContext}`;
    let c = comparers.get(key);
    if (!c) {
      c = (async () => new TransitionComparer(store.loadContext(oldContext), store.loadContext(newContext), plan, await rejectedFiles()))();
      c.catch(() => comparers.delete(key));
      comparers.set(key, c);
    }
    return c;
  };

  const checkContext = (name: string): PipelineContext => {
    if (!/^[a-z]+_\d+\.pmap$/.test(name)) throw new Error(`'${name}' is not a pipeline context name (<obs>_<serial>.pmap)`);
    return store.loadContext(name);
  };

  return {
    /** Diff, affected types, datasets-since dates, and the batches of dataset ids to compare. */
    async affectedPlan(input: AffectedInput & { runKey: string; workflowId: string }): Promise<AffectedPlanResult> {
      checkContext(input.oldContext);
      checkContext(input.newContext);
      const catalogStamp = await datasetCatalogStamp(db);
      await startRun(db, {
        runKey: input.runKey,
        workflowId: input.workflowId,
        kind: input.kind,
        oldContext: input.oldContext,
        newContext: input.newContext,
        catalogStamp,
        requestedBy: input.requestedBy ?? '',
      });
      const plan = planTransition(store, load, input.oldContext, input.newContext);
      heartbeat('planned');
      if (input.reusePreview) {
        const [preview] = await listRuns(db, { kind: 'preview', oldContext: input.oldContext, newContext: input.newContext, status: 'completed', limit: 1 });
        if (preview && preview.catalogStamp === catalogStamp) return { plan, batches: [], datasets: preview.datasets, catalogStamp, reuseRunKey: preview.runKey };
      }
      const size = Math.max(1, input.batchSize ?? 5000);
      const batches: DatasetBatch[] = [];
      let datasets = 0;
      for (const instrument of Object.keys(plan.affected).sort()) {
        const since = plan.since[instrument];
        const ids = await db.sequelize.query<{ dataset_id: string }>('SELECT dataset_id FROM datasets WHERE instrument = ? AND exptime >= ? ORDER BY dataset_id', {
          replacements: [instrument, since],
          type: QueryTypes.SELECT,
        });
        for (let i = 0; i < ids.length; i += size) {
          const part = ids.slice(i, i + size);
          batches.push({ no: batches.length, instrument, since, firstId: part[0].dataset_id, lastId: part[part.length - 1].dataset_id, count: part.length });
        }
        datasets += ids.length;
        heartbeat({ instrument, datasets });
      }
      log(`affected ${input.oldContext} -> ${input.newContext}: ${JSON.stringify(plan.affected)}; ${datasets} datasets in ${batches.length} batches`);
      return { plan, batches, datasets, catalogStamp };
    },

    /** One batch: best references under both contexts; stored once (a retry finds it). */
    async affectedBatch(input: { runKey: string; oldContext: string; newContext: string; plan: TransitionPlan; batch: DatasetBatch }): Promise<BatchSummary> {
      const { batch } = input;
      const summarize = (r: BatchResult & { worker: string }, stored: boolean): BatchSummary => ({
        no: batch.no,
        datasets: r.datasets,
        affected: r.affectedIds.length,
        errors: r.errors,
        counts: r.counts,
        worker: r.worker,
        stored,
      });
      const earlier = await batchResult(db, input.runKey, batch.no);
      if (earlier) return summarize(earlier, true);
      const comparer = await comparerFor(input.oldContext, input.newContext, input.plan);
      const rows = await db.sequelize.query<{ dataset_id: string; header: string }>(
        'SELECT dataset_id, header FROM datasets WHERE instrument = ? AND exptime >= ? AND dataset_id >= ? AND dataset_id <= ? ORDER BY dataset_id',
        { replacements: [batch.instrument, batch.since, batch.firstId, batch.lastId], type: QueryTypes.SELECT },
      );
      const result: BatchResult = { instrument: batch.instrument, datasets: 0, affectedIds: [], counts: {}, errors: 0, uniqueErrors: {}, errorSamples: [] };
      for (let i = 0; i < rows.length; i++) {
        const id = rows[i].dataset_id;
        const header = JSON.parse(rows[i].header) as Record<string, string>;
        result.datasets++;
        const c = comparer.compare(id, header);
        for (const u of c.updates) {
          const row = (result.counts[c.instrument] ??= {});
          row[u.filekind] = (row[u.filekind] ?? 0) + 1;
        }
        if (c.updates.length && !c.killed) result.affectedIds.push(id);
        for (const e of c.errors) {
          result.errors++;
          const unique = e.replace(id, '<dataset>');
          result.uniqueErrors[unique] = (result.uniqueErrors[unique] ?? 0) + 1;
          if (result.errorSamples.length < SAMPLE_ERRORS) result.errorSamples.push(e);
        }
        // Let the heartbeat (and other batches of this worker) through now and then.
        if (i % READ_CHUNK === READ_CHUNK - 1) {
          heartbeat({ done: i + 1 });
          await new Promise((r) => setImmediate(r));
        }
      }
      const stored = await storeBatch(db, input.runKey, batch.no, result, WORKER_IDENTITY);
      return summarize(stored, false);
    },

    /**
     * Merges the batches: affected product ids, counts, errors; for an activation writes the
     * results folder and the catalog row get_affected_datasets serves. Idempotent.
     */
    async affectedFinish(input: {
      runKey: string;
      kind: RunKind;
      oldContext: string;
      newContext: string;
      startedMs: number;
      plan: TransitionPlan;
      reuseRunKey?: string;
    }): Promise<AffectedOutcome> {
      const source = input.reuseRunKey ?? input.runKey;
      const batches = await runBatches(db, source);
      const products = new Set<string>();
      const counts: TypeCounts = {};
      const uniqueErrors: Record<string, number> = {};
      const samples: string[] = [];
      let datasets = 0;
      let errors = 0;
      for (const b of batches) {
        for (const id of b.affectedIds) products.add(productId(id));
        addCounts(counts, b.counts);
        datasets += b.datasets;
        errors += b.errors;
        for (const [k, n] of Object.entries(b.uniqueErrors)) uniqueErrors[k] = (uniqueErrors[k] ?? 0) + n;
        for (const s of b.errorSamples) if (samples.length < SAMPLE_ERRORS * 4) samples.push(s);
      }
      // BestrefsScript.warn_bad_context: once per instrument looked at, per context holding rejected rules.
      const rejected = new Set(await rejectedFiles());
      const badContextErrors: string[] = [];
      const instrumentsSeen = new Set(batches.filter((b) => b.datasets > 0).map((b) => b.instrument));
      for (const [label, name] of [
        ['New-context', input.newContext],
        ['Old-context', input.oldContext],
      ] as const) {
        const pmap = store.loadContext(name);
        for (const instrument of instrumentsSeen) {
          const closure = [name, ...pmap.getImap(instrument).mappingNames()];
          if (closure.some((m) => rejected.has(m))) {
            badContextErrors.push(`instrument='ALL' type='ALL' data='ALL' :: ${label} = '${name}' is bad or contains bad rules.  Use is not recommended,  results may not be scientifically valid.`);
          }
        }
      }
      errors += badContextErrors.length;
      const ids = [...products].sort();
      const bestrefsStatus = errors > 0 ? 1 : 0;
      const summaryLines = [
        `Mapping differences from '${input.oldContext}' --> '${input.newContext}' affect: ${JSON.stringify(input.plan.affected)}`,
        `Possibly affected --datasets-since dates: ${JSON.stringify(input.plan.since)}${input.plan.allDatesReason ? ` (all dates: ${input.plan.allDatesReason})` : ''}`,
        `Updated exposure counts: ${JSON.stringify(counts)}`,
        `Affected products = ${ids.length}`,
        `${datasets} datasets, ${errors} errors`,
      ];
      const errLines = [
        ...summaryLines,
        ...badContextErrors.map((e) => `ERROR - ${e}`),
        ...samples.map((e) => `ERROR - ${e}`),
        ...(Object.keys(uniqueErrors).length ? ['Unique error types:', ...Object.entries(uniqueErrors).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} x ${k}`)] : []),
        `${errors} errors`,
      ];
      const bestrefsErr = errLines.join('\n') + '\n';
      let computationDir = '';
      if (input.kind === 'activation') {
        computationDir = computationDirName(input.startedMs, input.oldContext, input.newContext);
        const dir = path.join(config.reprocessingDir, computationDir);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'affected_ids.txt'), ids.map((id) => id + '\n').join(''));
        fs.writeFileSync(path.join(dir, 'bestrefs.status'), `${bestrefsStatus}\n`);
        fs.writeFileSync(path.join(dir, 'bestrefs_err.txt'), bestrefsErr);
        fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ oldContext: input.oldContext, newContext: input.newContext, datasets, affected: ids.length, errors, bestrefsStatus, counts, plan: input.plan }, null, 1) + '\n');
        const { AffectedDatasets } = db.models;
        const existing = await AffectedDatasets.findOne({ where: { computationDir } });
        if (!existing) {
          await AffectedDatasets.create({ computationDir, oldContext: input.oldContext, newContext: input.newContext, affectedIds: ids, bestrefsStatus, bestrefsErr });
        }
      }
      await finishRun(db, input.runKey, {
        status: 'completed',
        datasets,
        affected: ids.length,
        errors,
        summary: { counts, plan: input.plan, bestrefsStatus, reusedFrom: input.reuseRunKey ?? null, workers: [...new Set(batches.map((b) => b.worker))] },
        computationDir,
      });
      return { computationDir, datasets, affected: ids.length, errors, bestrefsStatus, counts, reusedFrom: input.reuseRunKey };
    },

    async affectedFailed(input: { runKey: string; message: string }): Promise<void> {
      await finishRun(db, input.runKey, { status: 'failed', datasets: 0, affected: 0, errors: 0, summary: { failure: input.message }, computationDir: '' });
    },

    /** Mails the counts, with the ids attached, to CRDS_REPROCESSING_MAIL_TO. */
    async sendAffectedMail(input: { workflowId: string; oldContext: string; newContext: string; outcome: AffectedOutcome }): Promise<{ sent: boolean; to: string[]; subject: string }> {
      const { smtpUrl, from, reprocessingTo } = config.mail;
      const o = input.outcome;
      const subject = `CRDS ${config.observatory.toUpperCase()} ${config.usecase} datasets affected ${input.oldContext} --> ${input.newContext} on ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`;
      const lines = [
        `${o.affected} affected products among ${o.datasets} datasets; ${o.errors} errors; bestrefs status ${o.bestrefsStatus}.`,
        `Results: ${config.siteUrl}/affected_datasets/${encodeURIComponent(o.computationDir)}/`,
        '',
        'Updated exposure counts (instrument, type, datasets):',
        ...Object.entries(o.counts).flatMap(([instrument, types]) => Object.entries(types).map(([type, n]) => `  ${instrument} ${type} ${n}`)),
      ];
      if (!smtpUrl || !reprocessingTo.length) {
        log(`mail skipped (${smtpUrl ? 'no CRDS_REPROCESSING_MAIL_TO' : 'no CRDS_SMTP_URL'}): ${subject}`);
        return { sent: false, to: reprocessingTo, subject };
      }
      const ids = fs.readFileSync(path.join(config.reprocessingDir, o.computationDir, 'affected_ids.txt'), 'utf8');
      await nodemailer.createTransport(smtpUrl).sendMail({
        from,
        to: reprocessingTo,
        subject,
        text: lines.join('\n') + '\n',
        attachments: [{ filename: 'affected_ids.txt', content: ids, contentType: 'text/plain' }],
        messageId: `<${input.workflowId}.affected@crds.${config.observatory}>`,
      });
      return { sent: true, to: reprocessingTo, subject };
    },

    /** The operational context now and the last one the monitor handled. */
    async reprocessingCheck(): Promise<{ operational: string; lastHandled: string }> {
      const { latest } = await defaultContexts(db);
      return { operational: latest, lastHandled: (await getReprocessingState(db, 'last_operational_context')) ?? '' };
    },

    async reprocessingHandled(input: { context: string }): Promise<void> {
      await setReprocessingState(db, 'last_operational_context', input.context);
    },
  };
}

export type AffectedActivities = ReturnType<typeof createAffectedActivities>;
