// The submission workflow end to end on the real Temporal dev server, MariaDB with the real
// HST rules, and a real SMTP receiver: a certify failure, a cancel, and a happy path with a
// double confirm, delivery, the archive simulator and the mails; then every recorded
// history replays against the current workflow code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultContexts } from '../../db/catalog';
import { archiveStep } from '../../ops/commands/archive-sim';
import { DecisionRefused } from '../../web/submissions';
import { submissionWorkflowId } from '../../workflows/submission-types';
import { Worker } from '@temporalio/worker';
import { CONTEXT, lockFor, placeCosVariant, placeReference, request, startSubmissionSite, startWorkerInProcess, waitForProgress, type SubmissionSite } from './harness';
import { ls } from './exactly-once';

jest.setTimeout(300_000);

let site: SubmissionSite;
let worker: { close(): Promise<void> } | undefined;
const submissions: string[] = [];

beforeAll(async () => {
  site = await startSubmissionSite('submission');
  worker = await startWorkerInProcess(site);
});

afterAll(async () => {
  await worker?.close();
  await site?.close();
});

const catalogNames = async () => (await site.db.models.CatalogFile.findAll({ attributes: ['name'] })).map((r) => r.name).sort();

it('ends a submission whose file fails certify with the reason, and leaves nothing behind', async () => {
  fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
  const file = placeReference(site, 'alice');
  fs.truncateSync(file, 5000); // a FITS file cut inside its first header
  const lock = await lockFor(site, 'alice', 'cos');
  const before = await catalogNames();
  const { resultsId, location } = await site.service.startSubmission(request(site, 'alice', lock, 'certify-fails-1'));
  submissions.push(resultsId);
  expect(location).toBe('/display_result/certify-fails-1');
  const p = await waitForProgress(site, resultsId, (x) => x.status === 'failed');
  expect(p.reason).toBe("Certify failed for 'z1r1943el_1dx.fits'.");
  expect(p.files[0]!.certify!.errors).toBeGreaterThan(0);
  expect(p.steps.find((s) => s.name === 'certify')).toMatchObject({ status: 'failed' });
  // jpoll: the certify errors, then done(1) last
  const pulled = await site.service.pullMessages(resultsId, '0');
  expect(pulled.filter((m) => m.type === 'error').length).toBeGreaterThan(1);
  expect(pulled[pulled.length - 1]).toMatchObject({ type: 'done', data: { status: 1, result: "Certify failed for 'z1r1943el_1dx.fits'." } });
  expect(await catalogNames()).toEqual(before);
  expect(ls(path.join(site.config.serverFiles, 'submissions'))).toEqual([]);
  expect(ls(site.ingest('alice'))).toEqual(['z1r1943el_1dx.fits']); // the user's upload stays
  await expect(site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock })).rejects.toThrow(/is failed/);
  await waitFor(() => site.mails.some((m) => m.text.includes(resultsId) && m.subject.startsWith('CRDS HST submission FAILED')));
});

it('cancels a ready submission: everything it created goes, nothing else', async () => {
  fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
  placeReference(site, 'alice');
  const lock = await lockFor(site, 'alice', 'cos');
  const before = await catalogNames();
  const mappingsBefore = ls(path.join(site.config.fileCache, 'mappings', 'hst'));
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'cancel-me-1'));
  submissions.push(resultsId);
  const ready = await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed');
  expect(ready.status).toBe('ready');
  const created = [...ready.files.map((f) => f.name!), ...ready.generated.map((g) => g.name)];
  expect(created).toHaveLength(2); // a reference and an rmap: the imap and the pmap are made at confirm
  expect(await site.db.models.CatalogFile.count({ where: { name: created, state: 'uploaded' } })).toBe(2);
  // bob holds no cos lock: he may not cancel alice's submission
  await expect(site.service.decide(resultsId, { action: 'cancel', username: 'bob' })).rejects.toThrow(/lock on instrument 'cos'/);
  await expect(site.service.decide(resultsId, { action: 'cancel', username: 'alice', lock })).resolves.toMatchObject({ disposition: 'cancelled' });
  const p = await waitForProgress(site, resultsId, (x) => x.status === 'cancelled');
  expect(p.disposition).toBe('cancelled');
  expect(await catalogNames()).toEqual(before);
  expect(ls(path.join(site.config.fileCache, 'mappings', 'hst'))).toEqual(mappingsBefore);
  expect(ls(path.join(site.config.fileCache, 'references', 'hst')).filter((n) => created.includes(n))).toEqual([]);
  expect(ls(path.join(site.config.serverFiles, 'submissions'))).toEqual([]);
  expect(ls(site.ingest('alice'))).toEqual(['z1r1943el_1dx.fits']);
  expect((await defaultContexts(site.db)).edit).toBe(CONTEXT);
  await waitFor(() => site.mails.some((m) => m.text.includes(resultsId) && m.subject.startsWith('CRDS HST submission CANCELLED')));
});

it('delivers a confirmed submission once, through the archive, with mails (double confirm: one wins)', async () => {
  fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
  placeReference(site, 'alice');
  const lock = await lockFor(site, 'alice', 'cos');
  const req = request(site, 'alice', lock, 'happy-path-1');
  const { resultsId } = await site.service.startSubmission(req);
  expect(await site.service.startSubmission(req)).toEqual({ resultsId, location: `/display_result/${resultsId}` }); // a repeated POST
  submissions.push(resultsId);
  const ready = await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed');
  expect(ready.status).toBe('ready');
  expect(ready.context).toEqual({ mode: 'pmap_edit', derivedFrom: CONTEXT }); // the imap and the pmap are made at confirm
  const pulled = await site.service.pullMessages(resultsId, '0');
  expect(pulled[pulled.length - 1]).toEqual(expect.objectContaining({ type: 'done', data: { status: 0, result: `http://127.0.0.1:8999/display_result/${resultsId}` } }));
  expect(await site.service.pullMessages(resultsId, String(pulled[pulled.length - 1]!.id))).toEqual([]);
  await expect(site.service.pullMessages('no-such-channel', '0')).rejects.toThrow("Channel key 'no-such-channel' not found.");

  const decision = { action: 'confirm' as const, username: 'alice', lock };
  const both = await Promise.allSettled([site.service.decide(resultsId, decision), site.service.decide(resultsId, decision)]);
  expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  expect(refused.reason).toBeInstanceOf(DecisionRefused);
  expect(String(refused.reason.message)).toMatch(/already confirmed/);

  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery);
  expect(delivered.context).toEqual({ mode: 'pmap_edit', derivedFrom: CONTEXT, base: CONTEXT, newContext: 'hst_0730.pmap' });
  const names = [...delivered.files.map((f) => f.name!), ...delivered.generated.map((g) => g.name)].sort();
  expect(names).toHaveLength(4); // a reference, an rmap, an imap, a pmap
  const catalog = delivered.delivery!.catalog;
  expect(catalog).toMatch(/^opus_1_i\.cat$/);
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  expect(ls(deliveries)).toEqual([catalog, ...names].sort());
  expect(fs.readFileSync(path.join(site.config.serverFiles, 'catalogs', catalog), 'utf8')).toBe(names.join('\n') + '\n');
  for (const n of names) expect(fs.statSync(path.join(deliveries, n)).nlink).toBeGreaterThanOrEqual(2); // hard links of the cache
  expect((await defaultContexts(site.db)).edit).toBe(delivered.context.newContext);
  expect(await site.db.models.InstrumentLock.count({ where: { username: 'alice' } })).toBe(0); // released at confirm
  expect(ls(site.ingest('alice'))).toEqual([]);

  // The archive pipeline, one rename per pass: every state reaches the catalog rows.
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const expected = ['submitted', 'archiving', 'archived'][i]!;
    archiveStep(deliveries);
    const p = await waitForProgress(site, resultsId, (x) => x.delivery!.state === expected);
    seen.add(p.delivery!.state);
  }
  const done = await waitForProgress(site, resultsId, (x) => x.status === 'archived');
  expect([...seen]).toEqual(['submitted', 'archiving', 'archived']);
  expect(await site.db.models.CatalogFile.count({ where: { name: names, state: 'archived' } })).toBe(names.length);
  expect(ls(deliveries)).toEqual([]);
  expect(done.steps.every((s) => s.status === 'done')).toBe(true);
  const outcome = await site.client.workflow.getHandle(submissionWorkflowId('hst', resultsId)).result();
  expect(outcome).toMatchObject({ status: 'archived', disposition: 'confirmed', catalog });

  // Mails at ready, confirmed, delivered, archived: to the submitter and the list.
  const mine = () => site.mails.filter((m) => m.text.includes(resultsId));
  await waitFor(() => mine().length >= 4);
  expect(mine().map((m) => m.subject.split(':')[0])).toEqual(
    ['READY', 'CONFIRMED', 'DELIVERED', 'ARCHIVED'].map((k) => `CRDS HST submission ${k}`),
  );
  for (const m of mine()) expect(m.to.sort()).toEqual(['alice@test.example', 'datamng@test.example']);
});

it('a READY submission continues after the site is restored from a backup taken while it waited', async () => {
  fs.rmSync(site.ingest('alice'), { recursive: true, force: true });
  placeCosVariant(site, 'alice', 'R');
  const lock = await lockFor(site, 'alice', 'cos');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'across-restore'));
  submissions.push(resultsId);
  expect((await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed')).status).toBe('ready');
  const edit = (await defaultContexts(site.db)).edit;

  // The operator's backup and restore, as ops/backup and ops/restore start them.
  const ops = { taskQueue: site.config.temporal.taskQueue };
  await site.client.workflow.execute('backupWorkflow', { ...ops, workflowId: `backup-${resultsId}`, args: [{ name: `waiting-${resultsId.slice(0, 8)}` }] });
  const restored = await site.client.workflow.execute<(i: { backup: string }) => Promise<{ steps?: unknown }>>('restoreWorkflow', {
    ...ops,
    workflowId: `restore-${resultsId}`,
    args: [{ backup: `waiting-${resultsId.slice(0, 8)}` }],
  });
  expect(restored).toBeDefined();
  expect(fs.existsSync(path.join(site.config.serverFiles, 'MAINTENANCE.json'))).toBe(false); // reopened

  // The submission waited through it, and the confirm delivers on the restored catalog.
  expect((await site.service.pullMessages(resultsId, '0')).some((m) => m.type === 'done')).toBe(true);
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery || x.status === 'failed');
  expect(delivered.status).not.toBe('failed');
  expect(delivered.context.base).toBe(edit);
  expect((await defaultContexts(site.db)).edit).toBe(delivered.context.newContext);
  expect(await site.db.models.CatalogFile.count({ where: { name: delivered.files.map((f) => f.name!) } })).toBe(delivered.files.length);
});

it('replays every recorded history with the current workflow code', async () => {
  for (const id of submissions) {
    const history = await site.client.workflow.getHandle(submissionWorkflowId('hst', id)).fetchHistory();
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history);
  }
  expect(submissions).toHaveLength(4);
});

async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
