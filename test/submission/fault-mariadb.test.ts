// MariaDB stopped (SIGTERM) in the middle of the delivery activity and started again on the
// same data folder and port: the submission still finishes exactly once (exactly-once.ts).
// ops/runtests' MariaDB is shared by every test file, so this file starts a throwaway
// mariadbd of its own (mariadb-install-db + mariadbd on a free port, its data folder under
// os.tmpdir()), the way ops/runtests does, and restarts that one.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { connect } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { QueryTypes, type Transaction } from 'sequelize';
import { Worker } from '@temporalio/worker';
import { archiveStep } from '../../ops/commands/archive-sim';
import { submissionWorkflowId } from '../../workflows/submission-types';
import { freePorts } from '../support/ports';
import { startProcess, stopProcess, type Started } from '../support/processes';
import { activityStarted, deliveredNames, expectDeliveredOnce, ls, placeVariant } from './exactly-once';
import { lockFor, request, startSubmissionSite, waitForProgress, type SubmissionSite } from './harness';

jest.setTimeout(600_000);

let site: SubmissionSite;
let worker: Started | undefined;
let mariadb: { child: ChildProcess; exited: Promise<unknown>; log: () => string } | undefined;
let dir: string;
let port: number;

async function portOpen(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(p, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function startMariadb(): Promise<void> {
  const child = spawn('mariadbd', ['--no-defaults', `--datadir=${path.join(dir, 'mysql')}`, `--socket=${path.join(dir, 'mysql.sock')}`, `--port=${port}`,
    '--bind-address=127.0.0.1', `--user=${os.userInfo().username}`, '--skip-log-bin', '--innodb-buffer-pool-size=64M', '--max-connections=200'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  mariadb = { child, exited: new Promise((resolve) => child.once('exit', resolve)), log: () => out };
  const deadline = Date.now() + 120_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the test's MariaDB did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopMariadb(): Promise<void> {
  if (!mariadb || mariadb.child.exitCode !== null || mariadb.child.signalCode !== null) return;
  mariadb.child.kill('SIGTERM');
  const timer = setTimeout(() => mariadb?.child.kill('SIGKILL'), 60_000);
  await mariadb.exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-mariadb-restart-'));
  [port] = (await freePorts(1)) as [number];
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${path.join(dir, 'mysql')}`, `--user=${os.userInfo().username}`, '--auth-root-authentication-method=socket'], { stdio: 'ignore' });
  await startMariadb();
  execFileSync('mariadb', ['--no-defaults', `--socket=${path.join(dir, 'mysql.sock')}`, '-uroot', '-e',
    "CREATE USER 'crds'@'127.0.0.1' IDENTIFIED BY 'crds'; GRANT ALL ON *.* TO 'crds'@'127.0.0.1';"]);
  site = await startSubmissionSite('submariadb', { mysqlUrl: `mysql://crds:crds@127.0.0.1:${port}` });
  worker = await startProcess('workers/main.ts', site.env, /Worker state changed[\s\S]*RUNNING/);
});

afterAll(async () => {
  await stopProcess(worker, 'SIGKILL');
  await site?.close().catch(() => undefined);
  await stopMariadb();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('delivers and archives exactly once when MariaDB restarts in the middle of the delivery activity', async () => {
  placeVariant(site, 'alice', '5');
  const lock = await lockFor(site, 'alice', 'cos');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'mariadb-restart'));
  const ready = await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed', 180_000);
  expect(ready.status).toBe('ready');
  const names = deliveredNames(ready);

  // Hold the submission's catalog rows: the delivery stops inside its transaction, with its
  // catalog written and its links made.
  let holding!: () => void;
  const isHolding = new Promise<void>((resolve) => (holding = resolve));
  const blocker = site.db.sequelize
    .transaction(async (transaction: Transaction) => {
      await site.db.sequelize.query('SELECT id FROM catalog_files WHERE name IN (:names) FOR UPDATE', { replacements: { names }, type: QueryTypes.SELECT, transaction });
      holding();
      await new Promise(() => undefined); // until MariaDB goes away under it
    })
    .catch((err: unknown) => err);
  await isHolding;
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  await activityStarted(site, resultsId, 'deliverSubmission', 120_000, () => worker!.output());
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const deadline = Date.now() + 60_000;
  while (!names.every((n) => ls(deliveries).includes(n))) {
    if (Date.now() > deadline) throw new Error(`the delivery never reached its transaction:\n${worker!.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  // MariaDB goes down under the blocked activity, then comes back on the same data.
  await stopMariadb();
  void blocker;
  await startMariadb();

  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery, 240_000);
  await expectDeliveredOnce(site, resultsId, delivered, { deliveryId: 1, context: 'hst_0730.pmap' });
  expect(ls(deliveries)).toEqual(['opus_1_i.cat', ...names].sort());
  for (let i = 0; i < 3; i++) archiveStep(deliveries);
  const archived = await waitForProgress(site, resultsId, (x) => x.status === 'archived', 120_000);
  expect(await site.db.models.CatalogFile.count({ where: { name: names, state: 'archived' } })).toBe(names.length);
  expect(worker!.child.exitCode).toBeNull(); // the worker rode out the restart
  const handle = site.client.workflow.getHandle(submissionWorkflowId('hst', resultsId));
  expect(await handle.result()).toMatchObject({ status: 'archived', catalog: 'opus_1_i.cat' });
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, await handle.fetchHistory());
});
