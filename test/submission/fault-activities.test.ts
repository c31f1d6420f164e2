// The worker process killed with SIGKILL during certify and during the archive watch, then
// started again: each submission finishes exactly once (exactly-once.ts), nothing lost.
// Certify is held deterministically, with no hook in the code: the site's specs folder is a
// copy whose COS 1DX constraints file (cos_1dx.tpn) is a named pipe, so certify blocks
// opening it until the test puts the real file in its place.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { archiveStep } from '../../ops/commands/archive-sim';
import { stopProcess, type Started } from '../support/processes';
import { activityStarted, deliveredNames, expectArchivedAndReplayable, expectDeliveredOnce, ls, placeVariant, readySubmission } from './exactly-once';
import { lockFor, request, SPECS, startSubmissionSite, startWorkerProcess, waitForProgress, type SubmissionSite } from './harness';

jest.setTimeout(600_000);

let site: SubmissionSite;
let worker: Started | undefined;
let specs: string;
const HELD = path.join('hst', 'tpns', 'cos_1dx.tpn');

const startWorker = () => startWorkerProcess(site);

/** A specs folder of links to the real one, except `HELD`, which is a named pipe. */
function specsWithPipe(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-specs-pipe-'));
  const copy = (rel: string) => {
    const from = path.join(SPECS, rel);
    const to = path.join(root, rel);
    if (fs.statSync(from).isDirectory()) {
      fs.mkdirSync(to, { recursive: true });
      for (const e of fs.readdirSync(from)) copy(path.join(rel, e));
    } else if (rel === HELD) {
      execFileSync('mkfifo', [to]);
    } else {
      fs.symlinkSync(from, to);
    }
  };
  copy('.');
  return root;
}

/** Puts the real constraints file where the pipe is (the rename never blocks on the pipe). */
function releasePipe(): void {
  const to = path.join(specs, HELD);
  fs.copyFileSync(path.join(SPECS, HELD), `${to}.real`);
  fs.renameSync(`${to}.real`, to);
}

beforeAll(async () => {
  specs = specsWithPipe();
  site = await startSubmissionSite('subfault2', { specsDir: specs });
  worker = await startWorker();
});

afterAll(async () => {
  await stopProcess(worker, 'SIGKILL');
  await site?.close();
  if (specs) fs.rmSync(specs, { recursive: true, force: true });
});

it('certifies, delivers and archives exactly once after the worker is killed with SIGKILL during certify', async () => {
  placeVariant(site, 'alice', '1');
  const lock = await lockFor(site, 'alice', 'cos');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'killed-in-certify'));
  await activityStarted(site, resultsId, 'certifySubmissionFile', 120_000, () => worker!.output());
  // Certify cannot finish: it waits for the pipe. Kill the worker there.
  const during = await waitForProgress(site, resultsId, (x) => x.status === 'certifying');
  expect(during.files.map((f) => f.certify)).toEqual([undefined]);
  await stopProcess(worker, 'SIGKILL');
  releasePipe();
  worker = await startWorker();

  // The certify activity's heartbeat times out (30 s) and it runs again on the new worker.
  const ready = await waitForProgress(site, resultsId, (x) => x.status !== 'certifying' && x.status !== 'ingesting' && x.status !== 'generating', 240_000);
  expect(ready.status).toBe('ready');
  expect(ready.files[0]!.certify!.errors).toBe(0);
  expect(ready.messages.filter((m) => String(m.data).startsWith("Certified 'z1r1943el_1dx.fits'"))).toHaveLength(1);
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery, 150_000);
  await expectDeliveredOnce(site, resultsId, delivered, { deliveryId: 1, context: 'hst_0730.pmap' });
  for (let i = 0; i < 3; i++) archiveStep(path.join(site.config.serverFiles, 'deliveries'));
  const archived = await waitForProgress(site, resultsId, (x) => x.status === 'archived');
  expect(await site.db.models.CatalogFile.count({ where: { name: deliveredNames(archived), state: 'archived' } })).toBe(4);
  await expectArchivedAndReplayable(site, resultsId, 'opus_1_i.cat');
});

it('follows the archive to the end exactly once after the worker is killed with SIGKILL while watching the catalog', async () => {
  const { resultsId, lock } = await readySubmission(site, '2', 'killed-in-archive');
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery, 150_000);
  await expectDeliveredOnce(site, resultsId, delivered, { deliveryId: 2, context: 'hst_0731.pmap' });

  // The archive takes the catalog (_SUBMIT); the watch sees it and waits for the next change.
  expect(archiveStep(deliveries)).toEqual(['opus_2_i.cat: submitted']);
  await waitForProgress(site, resultsId, (x) => x.delivery?.state === 'submitted');
  await activityStarted(site, resultsId, 'awaitCatalogChange', 60_000, () => worker!.output());
  await stopProcess(worker, 'SIGKILL');
  // While no worker runs, the archive goes on to the end.
  expect(archiveStep(deliveries)).toEqual(['opus_2_i.cat: archiving']);
  expect(archiveStep(deliveries)).toEqual(['opus_2_i.cat: archived']);
  expect(ls(deliveries)).toEqual([]);
  worker = await startWorker();

  // The watch's heartbeat times out (2 min) and it runs again, finding the catalog gone.
  const archived = await waitForProgress(site, resultsId, (x) => x.status === 'archived', 300_000);
  expect(archived.delivery).toMatchObject({ catalog: 'opus_2_i.cat', state: 'archived' });
  expect(await site.db.models.CatalogFile.count({ where: { name: deliveredNames(archived), state: 'archived' } })).toBe(4);
  expect(archived.messages.filter((m) => m.data === "Catalog 'opus_2_i.cat': archived")).toHaveLength(1);
  // Nothing delivered twice: still two catalogs, the second submission's context the edit one.
  await expectDeliveredOnce(site, resultsId, archived, { deliveryId: 2, context: 'hst_0731.pmap' });
  await expectArchivedAndReplayable(site, resultsId, 'opus_2_i.cat');
  await waitForMail(site, resultsId, 'ARCHIVED');
});

async function waitForMail(s: SubmissionSite, resultsId: string, word: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!s.mails.some((m) => m.text.includes(resultsId) && m.subject.includes(word))) {
    if (Date.now() > deadline) throw new Error(`no ${word} mail for ${resultsId}: ${s.mails.map((m) => m.subject).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(s.mails.filter((m) => m.text.includes(resultsId) && m.subject.includes(word))).toHaveLength(1);
}
