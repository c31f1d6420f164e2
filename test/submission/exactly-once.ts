// The fault tests' common verdict: a submission delivered exactly once. One catalog (the
// delivery id drawn once, the next after the previous submission's), its text the files
// delivered, one set of catalog rows and audit records, the edit context advanced to the
// submission's new pmap, and every serial name and counter drawn once (each counter holds
// the number this submission recorded: nothing skipped, nothing repeated).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultContexts } from '../../db/catalog';
import { submissionRecords } from '../../db/submissions';
import { temporal } from '@temporalio/proto';
import { submissionWorkflowId, type SubmissionProgress } from '../../workflows/submission-types';
import { HST_REFERENCES, type SubmissionSite } from './harness';

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
    const m = /^(.*)_(\d{4})(\.\w+)$/.exec(name)!;
    expect({ slot, next: await counter(`${m[1]}_${m[3]}`) }).toEqual({ slot, next: Number(m[2]) });
  }
}

/** A real COS reference with its DESCRIP changed by `tag` (one character), so each test's file has a SHA-1 of its own. */
export function placeVariant(site: SubmissionSite, username: string, tag: string): void {
  const bytes = fs.readFileSync(path.join(HST_REFERENCES, 'z1r1943el_1dx.fits'));
  const at = bytes.indexOf('LP3-------');
  if (at < 0 || tag.length !== 1) throw new Error('DESCRIP card not found, or not a one-character tag');
  bytes.write(`LP3${tag}`, at, 'latin1');
  fs.rmSync(site.ingest(username), { recursive: true, force: true });
  fs.mkdirSync(site.ingest(username), { recursive: true });
  fs.writeFileSync(path.join(site.ingest(username), 'z1r1943el_1dx.fits'), bytes);
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
