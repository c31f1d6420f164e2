// The first durable workflow end to end: the real worker process on the real Temporal dev
// server, clearing locks in real MariaDB; its schedule created idempotently; and a worker
// killed with SIGKILL in the middle of a scheduled run, after which the run completes once.
import { Client, Connection, ScheduleOverlapPolicy, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { openDatabase, type Database } from '../../db';
import { acquireLock } from '../../db/locks';
import { ensureSchedules } from '../../workers/schedules';
import type { ClearExpiredLocksResult } from '../../activities/locks';
import { freshMysqlDatabase, freshNamespace, temporalAddress, uniqueName, type TestDatabase } from '../support/services';
import { startProcess, stopProcess, type Started } from '../support/processes';
import { holdRows } from '../support/databases';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/paths';

jest.setTimeout(180_000);

const HOUR = 3600_000;
const taskQueue = uniqueName('locks');
let target: TestDatabase;
let db: Database;
let connection: Connection;
let client: Client;
let worker: Started | undefined;
let namespace: string;

const startWorker = () =>
  startProcess(
    'workers/main.ts',
    {
      CRDS_USECASE: 'test',
      CRDS_OBSERVATORY: 'hst',
      CRDS_DATABASE_URL: target.url,
      TEMPORAL_ADDRESS: temporalAddress(),
      CRDS_TASK_QUEUE: taskQueue,
      TEMPORAL_NAMESPACE: namespace,
      // A shared site's worker needs its certify specs (the demo site's here).
      CRDS_SPECS_DIR: path.join(REPO_ROOT, 'config', 'demo', 'specs'),
    },
    /Worker state changed[\s\S]*RUNNING/,
  );

async function expiredLock(name: string, username: string): Promise<void> {
  await acquireLock(db, { name, username, now: new Date(Date.now() - 5 * HOUR) });
}

beforeAll(async () => {
  target = await freshMysqlDatabase('temporal');
  db = await openDatabase(target.url);
  namespace = await freshNamespace('locks');
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection, namespace });
  worker = await startWorker();
});

afterAll(async () => {
  await stopProcess(worker);
  await client.schedule.getHandle('clear-expired-locks').delete().catch(() => undefined);
  await client.schedule.getHandle('monitor-reprocessing').delete().catch(() => undefined);
  await connection.close();
  await db.close();
  await target.drop();
});

it('runs the lock-clearing workflow through the real worker', async () => {
  await expiredLock('acs', 'alice');
  await expiredLock('cos', 'bob');
  await acquireLock(db, { name: 'stis', username: 'carol' });

  const result = await client.workflow.execute<() => Promise<ClearExpiredLocksResult>>('clearExpiredLocksWorkflow', {
    taskQueue,
    workflowId: uniqueName('clear-expired-locks-test'),
  });
  expect(result.cleared.map((l) => l.name).sort()).toEqual(['acs', 'cos']);
  expect((await db.models.InstrumentLock.findAll()).map((l) => l.name)).toEqual(['stis']);
  expect(await db.models.AuditRecord.count({ where: { action: 'clear expired lock' } })).toBe(2);
});

it('creates the clear-expired-locks schedule once, however often the worker starts', async () => {
  // The worker created it at start-up; creating it again (twice) updates, never duplicates.
  expect(await ensureSchedules(client, taskQueue)).toEqual({ 'clear-expired-locks': 'updated', nightly: 'updated', 'clean-abandoned-uploads': 'updated', 'monitor-reprocessing': 'updated' });
  expect(await ensureSchedules(client, taskQueue)).toEqual({ 'clear-expired-locks': 'updated', nightly: 'updated', 'clean-abandoned-uploads': 'updated', 'monitor-reprocessing': 'updated' });
  const ids: string[] = [];
  for await (const s of client.schedule.list()) ids.push(s.scheduleId);
  expect(ids.filter((id) => id === 'clear-expired-locks')).toHaveLength(1);
  const description = await client.schedule.getHandle('clear-expired-locks').describe();
  expect(description.spec.intervals).toEqual([expect.objectContaining({ every: 5 * 60_000 })]);
  expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'clearExpiredLocksWorkflow', taskQueue });
});

it('completes a scheduled run once after its worker is killed with SIGKILL mid-activity', async () => {
  await db.models.AuditRecord.destroy({ where: {} });
  await expiredLock('wfc3', 'erin');

  // Hold the lock rows so the activity blocks inside its transaction: the run is in flight.
  const blocker = await holdRows(db, 'SELECT id FROM instrument_locks FOR UPDATE');

  // Paused, the schedule fires only when triggered: its 5-minute run cannot interleave.
  const schedule = client.schedule.getHandle('clear-expired-locks');
  await schedule.pause('test: only the triggered run');
  const before = (await schedule.describe()).info.recentActions.length;
  await schedule.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  let run: WorkflowHandle | undefined;
  await waitFor(async () => {
    const actions = (await schedule.describe()).info.recentActions;
    if (actions.length <= before) return false;
    const started = actions[actions.length - 1]!.action;
    run = client.workflow.getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId);
    const { raw } = await run.describe();
    return raw.pendingActivities?.[0]?.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  }, 30_000);

  await stopProcess(worker, 'SIGKILL');
  worker = await startWorker();
  blocker.release();
  await blocker.done;

  // The retry runs once the dead worker's attempt times out (start-to-close 30 s).
  const result = (await run!.result()) as ClearExpiredLocksResult;
  expect(result.cleared.map((l) => `${l.name}:${l.username}`)).toEqual(['wfc3:erin']);
  expect(await db.models.InstrumentLock.count({ where: { name: 'wfc3' } })).toBe(0);
  expect(await db.models.AuditRecord.count({ where: { action: 'clear expired lock', instrument: 'wfc3' } })).toBe(1);

  const history = await run!.fetchHistory();
  const attempts = history
    .events!.filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(attempts).toEqual([2]); // the first attempt never reported back; the second did the work
  const completions = history.events!.filter((e) => e.workflowExecutionCompletedEventAttributes);
  expect(completions).toHaveLength(1);

  // The recorded history replays against today's workflow code: it is deterministic.
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, run!.workflowId);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
