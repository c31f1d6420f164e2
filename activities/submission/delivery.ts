// Delivery to the archive (crds-protocol.md §6) in three phases a re-run finds again: prepare
// (the delivery id drawn once, the catalog written in catalogs/, hard links of the files in
// deliveries/), commit (one transaction: states → delivered, audit records, and what the
// caller adds, such as the edit context), publish (the submitter's lock released, their
// ingest copies removed, the catalog renamed into deliveries/ last, so the archive never sees
// half a delivery and a re-run never offers it twice). Then the archive watch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Transaction } from 'sequelize';
import { bumpGeneration, defaultContexts, setDefaultContext } from '../../db/catalog';
import { contextSerial } from '../../db/catalog-import';
import { releaseLocks } from '../../db/locks';
import { assignDeliveryId, recordOnce, recorded } from '../../db/submissions';
import type { DeliveryState } from '../../workflows/submission-types';
import { sameUpload } from '../certified-copy';
import { catalogName, catalogState, heartbeat, linkOnce, submissionPaths, writeAtomically, type SubmissionActivityDeps } from './common';

export interface DeliverInput {
  submissionId: string;
  observatory: string;
  username: string;
  description: string;
  /** Every file the submission delivers: references and generated mappings. */
  names: string[];
  newContext: string;
  uploadedAs: string[];
  /** The audit records' action, the submission's kind as the original named it (AUDIT_ACTIONS); default 'batch submit'. */
  action?: string;
}

export interface DeliverResult {
  deliveryId: number;
  catalog: string;
}

/** The submission's delivery id and catalog, drawn once. */
export async function deliveryOf(deps: SubmissionActivityDeps, input: Pick<DeliverInput, 'submissionId' | 'observatory'>) {
  const paths = submissionPaths(deps.config, input.observatory);
  const deliveryId = await assignDeliveryId(deps.db, input.submissionId, input.observatory);
  const catalog = catalogName(input.observatory, deliveryId);
  return { deliveryId, catalog, link: path.join(paths.deliveries, catalog), permanent: path.join(paths.catalogs, catalog) };
}

/** Phases 1 and 2: the catalog and links, then the transaction; `inTransaction` runs inside it first. */
export async function prepareAndCommitDelivery(
  deps: SubmissionActivityDeps,
  input: DeliverInput,
  inTransaction?: (transaction: Transaction) => Promise<void>,
): Promise<DeliverResult> {
  const { db, config } = deps;
  const paths = submissionPaths(config, input.observatory);
  const { deliveryId, catalog, link, permanent } = await deliveryOf(deps, input);
  fs.mkdirSync(paths.catalogs, { recursive: true });
  fs.mkdirSync(paths.deliveries, { recursive: true });
  // Until it is published the catalog may be rewritten: a confirm re-run may deliver other context names.
  if (!(await recorded(db, input.submissionId, 'catalog-staged'))) writeAtomically(permanent, [...input.names].sort().join('\n') + '\n');
  heartbeat({ catalog, phase: 'catalog written' });

  const rows = await db.models.CatalogFile.findAll({ where: { name: input.names } });
  if (rows.length !== input.names.length) throw new Error(`catalog rows missing for ${input.names.filter((n) => !rows.some((r) => r.name === n)).join(', ')}`);
  for (const row of rows) {
    linkOnce(path.join(row.type === 'mapping' ? paths.mappings : paths.references, row.name), path.join(paths.deliveries, row.name));
  }
  heartbeat({ catalog, phase: 'files linked' });

  const now = new Date();
  await db.sequelize.transaction(async (transaction) => {
    const pending = await db.models.CatalogFile.findAll({ where: { name: input.names, state: 'uploaded' }, transaction, lock: transaction.LOCK.UPDATE });
    if (!pending.length) return; // an earlier attempt got this far
    await inTransaction?.(transaction);
    await db.models.CatalogFile.update({ state: 'delivered', catalogLink: link, deliveryDate: now }, { where: { id: pending.map((r) => r.id) }, transaction });
    // One audit record for the catalog and one per file (§4.6).
    await db.models.AuditRecord.bulkCreate(
      [catalog, ...[...input.names].sort()].map((filename) => {
        const row = rows.find((r) => r.name === filename);
        return {
          date: now,
          username: input.username,
          action: input.action ?? 'batch submit',
          filename,
          observatory: input.observatory,
          instrument: row?.instrument ?? '',
          filekind: row?.filekind ?? '',
          why: input.description,
          details: { files: [catalog, ...[...input.names].sort()], submission: input.submissionId },
        };
      }),
      { transaction },
    );
    await bumpGeneration(db, transaction);
  });
  return { deliveryId, catalog };
}

/** Phase 3, after the commit: lock released, ingest copies removed, the catalog offered to the archive. */
export async function publishDelivery(deps: SubmissionActivityDeps, input: Pick<DeliverInput, 'submissionId' | 'observatory' | 'username' | 'uploadedAs'>): Promise<DeliverResult> {
  const { db, config } = deps;
  const paths = submissionPaths(config, input.observatory);
  const { deliveryId, catalog, link, permanent } = await deliveryOf(deps, input);
  await releaseLocks(db, input.username);
  // Ingest copies that are still the files submitted go, as at the original's confirm.
  const own = paths.submission(input.submissionId);
  for (const name of input.uploadedAs) {
    const ingest = path.join(paths.ingest(input.username), name);
    if (sameUpload(ingest, path.join(own, name))) fs.rmSync(ingest, { force: true });
  }
  // Publish: stage a hidden link, record that it is staged, rename it into place. A
  // missing stage after the record means the rename happened (maybe the archive is done).
  const stage = path.join(paths.deliveries, `.${catalog}.staged`);
  if (!(await recorded(db, input.submissionId, 'catalog-staged'))) {
    linkOnce(permanent, stage);
    await recordOnce(db, input.submissionId, 'catalog-staged', async () => new Date().toISOString());
  }
  if (fs.existsSync(stage)) fs.renameSync(stage, link);
  fs.rmSync(own, { recursive: true, force: true });
  return { deliveryId, catalog };
}

export function createDeliveryActivities(deps: SubmissionActivityDeps) {
  const { db, config } = deps;
  return {
    /**
     * The delivery of a submission whose contexts were made at submit time (histories
     * recorded before contexts were made at confirm): the edit context moves forward only.
     */
    async deliverSubmission(input: DeliverInput): Promise<DeliverResult> {
      const paths = submissionPaths(config, input.observatory);
      await prepareAndCommitDelivery(deps, input, async (transaction) => {
        const { edit } = await defaultContexts(db);
        if (contextSerial(input.newContext) > contextSerial(edit)) {
          await setDefaultContext(db, { state: 'edit', context: input.newContext, username: input.username, description: input.description, mappingsDir: paths.mappings, transaction });
        }
      });
      return publishDelivery(deps, input);
    },

    /**
     * Watches the delivery catalog's renames until its state differs from `known` (or it is
     * archived), heartbeating each look, and saves the state into the delivered files' rows.
     */
    async awaitCatalogChange(input: { observatory: string; catalog: string; known: DeliveryState; pollMs: number }): Promise<DeliveryState> {
      const paths = submissionPaths(config, input.observatory);
      const link = path.join(paths.deliveries, input.catalog);
      const cancelled = (() => {
        try {
          return Context.current().cancellationSignal;
        } catch {
          return undefined;
        }
      })();
      for (;;) {
        const state = catalogState(paths.deliveries, input.catalog);
        await db.sequelize.transaction(async (transaction) => {
          const [changed] = await db.models.CatalogFile.update(
            { state },
            { where: { catalogLink: link, state: ['delivered', 'submitted', 'archiving', 'archiving-failed'] }, transaction },
          );
          if (changed) await bumpGeneration(db, transaction);
        });
        if (state !== input.known || state === 'archived') return state;
        heartbeat({ catalog: input.catalog, state });
        await new Promise((resolve) => setTimeout(resolve, input.pollMs));
        if (cancelled?.aborted) throw new Error('cancelled');
      }
    },
  };
}
