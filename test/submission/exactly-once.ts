// The fault tests' common verdict: a submission delivered exactly once. One catalog (the
// delivery id drawn once, the next after the previous submission's), its text the files
// delivered, one set of catalog rows and audit records, the edit context advanced to the
// submission's new pmap, and every serial name and counter drawn once (each counter holds
// the number this submission recorded: nothing skipped, nothing repeated).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { archiveStep } from '../../ops/commands/archive-sim';
import { defaultContexts } from '../../db/catalog';
import { submissionRecords } from '../../db/submissions';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { submissionWorkflowId, type SubmissionProgress } from '../../workflows/submission-types';
import { holdRows, type HeldRows } from '../support/databases';
import { lockFor, placeCosVariant, request, waitForProgress, type SubmissionSite } from './harness';

export const ls = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

/** Every file a ready submission will deliver: its references and new mappings. */
export const deliveredNames = (p: SubmissionProgress): string[] => [...p.files.map((f) => f.name!), ...p.generated.map((g) => g.name)].sort();

export async function expectDeliveredOnce(
  site: SubmissionSite,
  resultsId: string,
  p: SubmissionProgress,
  expected: { deliveryId: number; context: string },
): Promise<void> {
  const names = deliveredNames(p);
  const catalog = `opus_${expected.deliveryId}_i.cat`;
  const catalogs = path.join(site.config.serverFiles, 'catalogs');
  const link = path.join(site.config.serverFiles, 'deliveries', catalog);
  expect(p.delivery?.catalog).toBe(catalog);
  expect(p.context.newContext).toBe(expected.context);
  // One catalog per delivery so far, numbered 1..N without a gap.
  expect(ls(catalogs)).toEqual(Array.from({ length: expected.deliveryId }, (_, i) => `opus_${i + 1}_i.cat`).sort());
  expect(fs.readFileSync(path.join(catalogs, catalog), 'utf8')).toBe(names.join('\n') + '\n');
  const rows = await site.db.models.CatalogFile.findAll({ where: { catalogLink: link } });
  expect(rows.map((r) => r.name).sort()).toEqual(names);
  expect(await site.db.models.AuditRecord.count({ where: { action: 'batch submit', filename: [catalog, ...names] } })).toBe(names.length + 1);
  expect((await defaultContexts(site.db)).edit).toBe(expected.context);

  const records = await submissionRecords(site.db, resultsId);
  const counter = async (name: string) => (await site.db.models.NameCounter.findByPk(name))?.counter;
  expect(records.delivery_id).toBe(String(expected.deliveryId));
  expect(await counter('hst_delivery_id')).toBe(expected.deliveryId);
  const drawn = Object.entries(records).filter(([s]) => s.startsWith('name:'));
  expect(drawn.map(([, n]) => n).sort()).toEqual(names);
  for (const [slot, name] of drawn) {
    // Serial names left their series' counter at their own serial; CDBS-style HST reference
    // names (uniqname) were each reserved once.
    const m = /^(.*)_(\d{4})(\.\w+)$/.exec(name);
    if (m) expect({ slot, next: await counter(`${m[1]}_${m[3]}`) }).toEqual({ slot, next: Number(m[2]) });
    else expect({ slot, reserved: await counter(`uniqname:${name}`) }).toEqual({ slot, reserved: 0 });
  }
}

/** The COS 1dx variant `tag` (cosVariant) alone in the user's ingest folder. */
export function placeVariant(site: SubmissionSite, username: string, tag: string): void {
  fs.rmSync(site.ingest(username), { recursive: true, force: true });
  placeCosVariant(site, username, tag);
}

/** Resolves once the workflow has `activity` started on a worker (polling describe). */
export async function activityStarted(site: SubmissionSite, resultsId: string, activity: string, timeoutMs = 120_000, log = () => ''): Promise<void> {
  const handle = site.client.workflow.getHandle(submissionWorkflowId('hst', resultsId));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { raw } = await handle.describe();
    if (raw.pendingActivities?.some((a) => a.activityType?.name === activity && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)) return;
    if (Date.now() > deadline) throw new Error(`${activity} of ${resultsId} never started:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Submits the COS 1dx variant `tag` as alice and waits until it is ready to confirm. */
export async function readySubmission(site: SubmissionSite, tag: string, jpollKey: string) {
  placeVariant(site, 'alice', tag);
  const lock = await lockFor(site, 'alice', 'cos');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, jpollKey));
  const ready = await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed', 180_000);
  expect(ready.status).toBe('ready');
  return { resultsId, lock, ready, names: deliveredNames(ready) };
}

/** Holds the catalog rows of `names` (holdRows), so the delivery activity stops inside its own transaction. */
export const holdCatalogRows = (site: SubmissionSite, names: string[]): Promise<HeldRows> =>
  holdRows(site.db, 'SELECT id FROM catalog_files WHERE name IN (:names) FOR UPDATE', { names });

/**
 * After a restart of a service under the first delivery: delivered exactly once (catalog 1,
 * the next HST context), then archived by three archive steps; the archived progress.
 */
export async function expectDeliveredAndArchived(site: SubmissionSite, resultsId: string, names: string[]): Promise<SubmissionProgress> {
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery, 240_000);
  await expectDeliveredOnce(site, resultsId, delivered, { deliveryId: 1, context: 'hst_0730.pmap' });
  // The ready submission's files, and the imap and pmap made at confirm.
  const all = deliveredNames(delivered);
  expect(all).toEqual(expect.arrayContaining(names));
  expect(all.filter((n) => !names.includes(n)).map((n) => path.extname(n)).sort()).toEqual(['.imap', '.pmap']);
  expect(ls(deliveries)).toEqual(['opus_1_i.cat', ...all].sort());
  for (let i = 0; i < 3; i++) archiveStep(deliveries);
  const archived = await waitForProgress(site, resultsId, (x) => x.status === 'archived', 120_000);
  expect(await site.db.models.CatalogFile.count({ where: { name: all, state: 'archived' } })).toBe(all.length);
  return archived;
}

/** The workflow's result is archived with `catalog`, and its recorded history replays on the current code. */
export async function expectArchivedAndReplayable(site: SubmissionSite, resultsId: string, catalog: string): Promise<void> {
  const handle = site.client.workflow.getHandle(submissionWorkflowId('hst', resultsId));
  expect(await handle.result()).toMatchObject({ status: 'archived', catalog });
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, await handle.fetchHistory());
}
