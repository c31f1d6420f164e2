// The Temporal server stopped (SIGTERM) in the middle of a delivery and started again on
// the same database file: the submission still finishes exactly once (exactly-once.ts).
// ops/runtests' Temporal dev server keeps its state in memory, so this file starts a dev
// server of its own with a SQLite file, on free ports, and restarts that one.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { connect } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/paths';
import { freePorts } from '../support/ports';
import { stopProcess, type Started } from '../support/processes';
import { activityStarted, expectArchivedAndReplayable, expectDeliveredAndArchived, expectDeliveredOnce, holdCatalogRows, ls, readySubmission } from './exactly-once';
import { startSubmissionSite, startWorkerProcess, type SubmissionSite } from './harness';

jest.setTimeout(600_000);

let site: SubmissionSite;
let worker: Started | undefined;
let server: { child: ChildProcess; exited: Promise<unknown>; log: () => string } | undefined;
let dir: string;
let ports: number[];

function cli(): string {
  const cliPath = process.env.TEMPORAL_CLI;
  if (!cliPath) throw new Error('TEMPORAL_CLI is not set: run through ops/runtests');
  return cliPath;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** The dev server on its SQLite file and fixed ports; resolves once its frontend accepts connections. */
async function startTemporal(): Promise<void> {
  const attributes = execFileSync(path.join(REPO_ROOT, 'ops', 'search-attributes'), { encoding: 'utf8' }).trim().split(/\s+/);
  const [port, http, metrics] = ports as [number, number, number];
  const child = spawn(cli(), ['server', 'start-dev', '--headless', '--db-filename', path.join(dir, 'temporal.db'), '--ip', '127.0.0.1',
    '--port', String(port), '--http-port', String(http), '--metrics-port', String(metrics), '--log-level', 'error', ...attributes], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  server = { child, exited, log: () => out };
  const deadline = Date.now() + 120_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the test's Temporal server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopTemporal(): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server?.child.kill('SIGKILL'), 30_000);
  await server.exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-temporal-restart-'));
  ports = await freePorts(3);
  await startTemporal();
  site = await startSubmissionSite('subtemporal', { temporalAddress: `127.0.0.1:${ports[0]}` });
  worker = await startWorkerProcess(site);
});

afterAll(async () => {
  await stopProcess(worker, 'SIGKILL');
  await site?.close();
  await stopTemporal();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('delivers and archives exactly once when the Temporal server restarts in the middle of a delivery', async () => {
  const { resultsId, lock, names } = await readySubmission(site, '3', 'temporal-restart');

  // Hold the submission's catalog rows so the delivery stops inside its transaction.
  const blocker = await holdCatalogRows(site, names);
  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  await activityStarted(site, resultsId, 'deliverSubmission', 120_000, () => worker!.output());

  // Temporal goes down while the delivery is blocked; the delivery then finishes with no
  // server to report to; Temporal comes back on the same file.
  await stopTemporal();
  blocker.release();
  await blocker.done;
  const deliveries = path.join(site.config.serverFiles, 'deliveries');
  const deadline = Date.now() + 60_000;
  while (!ls(deliveries).includes('opus_1_i.cat')) {
    if (Date.now() > deadline) throw new Error(`the delivery did not finish while Temporal was down:\n${worker!.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await startTemporal();

  const archived = await expectDeliveredAndArchived(site, resultsId, names);
  await expectDeliveredOnce(site, resultsId, archived, { deliveryId: 1, context: 'hst_0730.pmap' });
  expect(worker!.child.exitCode).toBeNull(); // the worker rode out the restart
  await expectArchivedAndReplayable(site, resultsId, 'opus_1_i.cat');
});
