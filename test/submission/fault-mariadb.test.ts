// MariaDB stopped (SIGTERM) in the middle of the delivery activity and started again on the
// same data folder and port: the submission still finishes exactly once (exactly-once.ts).
// ops/runtests' MariaDB is shared by every test file, so this file starts a throwaway
// MariaDB of its own (ops/throwaway-mariadb, as ops/runtests does) and restarts that one.
import * as path from 'node:path';
import { stopProcess, type Started } from '../support/processes';
import { startThrowawayMariadb, type ThrowawayMariadb } from '../support/services';
import { activityStarted, expectArchivedAndReplayable, expectDeliveredAndArchived, holdCatalogRows, ls, readySubmission } from './exactly-once';
import { startSubmissionSite, startWorkerProcess, type SubmissionSite } from './harness';

jest.setTimeout(600_000);

let site: SubmissionSite;
let worker: Started | undefined;
let mariadb: ThrowawayMariadb | undefined;

beforeAll(async () => {
  mariadb = await startThrowawayMariadb(['--innodb-buffer-pool-size=64M', '--max-connections=200']);
  site = await startSubmissionSite('submariadb', { mysqlUrl: mariadb.url });
  worker = await startWorkerProcess(site);
});

afterAll(async () => {
  await stopProcess(worker, 'SIGKILL');
  await site?.close().catch(() => undefined);
  await mariadb?.remove();
});

it('delivers and archives exactly once when MariaDB restarts in the middle of the delivery activity', async () => {
  const { resultsId, lock, names } = await readySubmission(site, '5', 'mariadb-restart');

  // Hold the submission's catalog rows: the delivery stops inside its transaction, with its
  // catalog written and its links made. Never released: MariaDB goes away under it.
  const blocker = await holdCatalogRows(site, names);
  void blocker.done.catch(() => undefined);
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  await activityStarted(site, resultsId, 'confirmSubmission', 120_000, () => worker!.output());
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const deadline = Date.now() + 60_000;
  while (!names.every((n) => ls(deliveries).includes(n))) {
    if (Date.now() > deadline) throw new Error(`the delivery never reached its transaction:\n${worker!.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  // MariaDB goes down under the blocked activity, then comes back on the same data.
  await mariadb!.stop();
  await mariadb!.start();

  await expectDeliveredAndArchived(site, resultsId, names);
  expect(worker!.child.exitCode).toBeNull(); // the worker rode out the restart
  await expectArchivedAndReplayable(site, resultsId, 'opus_1_i.cat');
});
