// A worker killed with SIGKILL in the middle of a delivery, then started again: the
// submission finishes exactly once: one catalog, one set of links, the delivery id and
// every serial name drawn once (no skipped or repeated numbers).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { defaultContexts } from '../../db/catalog';
import { submissionRecords } from '../../db/submissions';
import { archiveStep } from '../../ops/commands/archive-sim';
import { submissionWorkflowId } from '../../workflows/submission-types';
import { stopProcess, type Started } from '../support/processes';
import { holdCatalogRows, ls } from './exactly-once';
import { CONTEXT, lockFor, placeReference, request, startSubmissionSite, startWorkerProcess, waitForProgress, type SubmissionSite } from './harness';

jest.setTimeout(300_000);

let site: SubmissionSite;
let worker: Started | undefined;

const startWorker = () => startWorkerProcess(site);

beforeAll(async () => {
  site = await startSubmissionSite('subfault');
  worker = await startWorker();
});

afterAll(async () => {
  await stopProcess(worker);
  await site?.close();
});

it('delivers exactly once after the worker is killed with SIGKILL during delivery', async () => {
  placeReference(site, 'alice');
  const lock = await lockFor(site, 'alice', 'cos');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'killed-in-delivery'));
  const ready = await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed');
  expect(ready.status).toBe('ready');
  const names = [...ready.files.map((f) => f.name!), ...ready.generated.map((g) => g.name)].sort();
  expect(ready.context.newContext).toBeUndefined(); // the imap and the pmap are made at confirm

  // Hold the submission's catalog rows: the delivery blocks after its catalog and links,
  // inside the transaction that marks the files delivered.
  const blocker = await holdCatalogRows(site, names);
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });

  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const catalogs = path.join(site.config.serverFiles, 'catalogs');
  const handle = site.client.workflow.getHandle(submissionWorkflowId('hst', resultsId));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const linked = names.every((n) => fs.existsSync(path.join(deliveries, n)));
    const { raw } = await handle.describe();
    const started = raw.pendingActivities?.some(
      (a) => a.activityType?.name === 'confirmSubmission' && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
    );
    if (linked && started && ls(catalogs).length === 1) break;
    if (Date.now() > deadline) throw new Error(`delivery never reached its transaction:\n${worker?.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 500)); // into the blocked UPDATE
  // Files linked, with the imap and pmap made at confirm; catalog not yet offered to the archive.
  const made = ls(deliveries).filter((n) => !names.includes(n));
  expect(made.map((n) => path.extname(n)).sort()).toEqual(['.imap', '.pmap']);
  expect(made).toContain('hst_0730.pmap'); // the next serial after hst_0729.pmap
  const all = [...names, ...made].sort();
  expect(ls(deliveries)).toEqual(all);

  await stopProcess(worker, 'SIGKILL');
  blocker.release();
  await blocker.done;
  worker = await startWorker();

  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery, 150_000);
  const catalog = delivered.delivery!.catalog;
  expect(catalog).toBe('opus_1_i.cat');
  expect(ls(catalogs)).toEqual([catalog]);
  expect(ls(deliveries)).toEqual([catalog, ...all].sort());
  expect(fs.readFileSync(path.join(catalogs, catalog), 'utf8')).toBe(all.join('\n') + '\n');
  expect(await site.db.models.CatalogFile.count({ where: { name: all, state: 'delivered', catalogLink: path.join(deliveries, catalog) } })).toBe(all.length);
  expect(await site.db.models.AuditRecord.count({ where: { action: 'batch submit' } })).toBe(all.length + 1);
  expect((await defaultContexts(site.db)).edit).toBe('hst_0730.pmap');

  // Every number drawn once: each counter holds the last number drawn, the one recorded.
  const records = await submissionRecords(site.db, resultsId);
  expect(records.delivery_id).toBe('1');
  const counter = async (name: string) => (await site.db.models.NameCounter.findByPk(name))?.counter;
  expect(await counter('hst_delivery_id')).toBe(1);
  for (const [slot, name] of Object.entries(records).filter(([s]) => s.startsWith('name:'))) {
    // Serial names left their series' counter at their own serial; a CDBS-style reference name was reserved once.
    const m = /^(.*)_(\d{4})(\.\w+)$/.exec(name);
    if (m) expect({ slot, next: await counter(`${m[1]}_${m[3]}`) }).toEqual({ slot, next: Number(m[2]) });
    else expect({ slot, reserved: await counter(`uniqname:${name}`) }).toEqual({ slot, reserved: 0 });
  }
  expect(Object.values(records).filter((v) => v === 'hst_0730.pmap')).toHaveLength(1);
  expect(Object.keys(records).filter((s) => s.startsWith('name:'))).toHaveLength(4);

  // Then the archive, and the history replays.
  for (let i = 0; i < 3; i++) archiveStep(deliveries);
  await waitForProgress(site, resultsId, (x) => x.status === 'archived');
  expect(ls(deliveries)).toEqual([]);
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, await handle.fetchHistory());
  expect(CONTEXT).toBe('hst_0729.pmap');
});
