// The Temporal server stopped (SIGTERM) in the middle of a delivery and started again on
// the same database file: the submission still finishes exactly once (exactly-once.ts).
// ops/runtests' Temporal dev server keeps its state in memory, so this file starts one of its
// own with a SQLite file (ops/throwaway-temporal --keep-state) and restarts that one.
import * as path from 'node:path';
import { stopProcess, type Started } from '../support/processes';
import { startThrowawayTemporal, type ThrowawayTemporal } from '../support/services';
import { activityStarted, expectArchivedAndReplayable, expectDeliveredAndArchived, expectDeliveredOnce, holdCatalogRows, ls, readySubmission } from './exactly-once';
import { startSubmissionSite, startWorkerProcess, type SubmissionSite } from './harness';

jest.setTimeout(600_000);

let site: SubmissionSite;
let worker: Started | undefined;
let temporal: ThrowawayTemporal | undefined;

beforeAll(async () => {
  temporal = await startThrowawayTemporal();
  site = await startSubmissionSite('subtemporal', { temporalAddress: temporal.address });
  worker = await startWorkerProcess(site);
});

afterAll(async () => {
  await stopProcess(worker, 'SIGKILL');
  await site?.close();
  await temporal?.remove();
});

it('delivers and archives exactly once when the Temporal server restarts in the middle of a delivery', async () => {
  const { resultsId, lock, names } = await readySubmission(site, '3', 'temporal-restart');

  // Hold the submission's catalog rows so the delivery stops inside its transaction.
  const blocker = await holdCatalogRows(site, names);
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  await activityStarted(site, resultsId, 'confirmSubmission', 120_000, () => worker!.output());

  // Temporal goes down while the delivery is blocked; the delivery then finishes with no
  // server to report to; Temporal comes back on the same file.
  await temporal!.stop();
  blocker.release();
  await blocker.done;
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const deadline = Date.now() + 60_000;
  while (!ls(deliveries).includes('opus_1_i.cat')) {
    if (Date.now() > deadline) throw new Error(`the delivery did not finish while Temporal was down:\n${worker!.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await temporal!.start();

  const archived = await expectDeliveredAndArchived(site, resultsId, names);
  await expectDeliveredOnce(site, resultsId, archived, { deliveryId: 1, context: 'hst_0730.pmap' });
  expect(worker!.child.exitCode).toBeNull(); // the worker rode out the restart
  await expectArchivedAndReplayable(site, resultsId, 'opus_1_i.cat');
});
