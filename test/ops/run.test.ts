// ops/run, ops/stop and ops/run again, as a user runs them: the embedded site (SQLite, its
// own Temporal dev server, worker, web) in a temporary state folder on free ports.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { SCHEDULES } from '../../workers/schedules';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { REPO_ROOT } from '../support/paths';
import { uniqueName } from '../support/services';
import { freePorts } from '../support/ports';

jest.setTimeout(240_000);
const run = promisify(execFile);

const varDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-run-'));
const ports = { web: 0, temporal: 0, ui: 0, workerMetrics: 0 };
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    CRDS_VAR_DIR: varDir,
    PORT: String(ports.web),
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.ui),
    CRDS_WORKER_METRICS_ADDRESS: `127.0.0.1:${ports.workerMetrics}`,
  };
  delete e.TEMPORAL_ADDRESS; // ops/runtests' server: ops/run must start its own
  delete e.CRDS_DATABASE_URL;
  return e;
};
const ops = (cmd: string) => run(path.join(REPO_ROOT, 'ops', cmd), [], { env: env(), cwd: REPO_ROOT });
const pids = () =>
  ['temporal', 'worker', 'web'].map((svc) => Number(fs.readFileSync(path.join(varDir, 'run', `${svc}.pid`), 'utf8')));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

beforeAll(async () => {
  [ports.web, ports.temporal, ports.ui, ports.workerMetrics] = await freePorts(4);
});
afterAll(async () => {
  await ops('stop').catch(() => undefined);
  fs.rmSync(varDir, { recursive: true, force: true });
});

it('runs the site, refuses to run it twice, stops it completely, and keeps its state', async () => {
  const first = await ops('run');
  expect(first.stdout).toContain(`http://localhost:${ports.web}/`);
  // Anonymous: the status only (where the catalog is, is for superusers).
  const health = await (await fetch(`http://127.0.0.1:${ports.web}/health`)).json();
  expect(health).toMatchObject({ status: 'ok', database: { ok: true }, temporal: { ok: true } });
  // The catalog, which holds password hashes, is readable by its owner only.
  expect(fs.statSync(path.join(varDir, 'crds.sqlite')).mode & 0o077).toBe(0);

  // The schedule is there, and a workflow run leaves history behind.
  const workflowId = uniqueName('ops-run-check');
  await withClient(async (client) => {
    // Schedule listing (what Temporal UI shows) comes from visibility: eventually consistent.
    const expected = SCHEDULES.filter((d) => !d.enabled).map((d) => d.scheduleId).sort();
    let ids: string[] = [];
    for (let i = 0; i < 100 && ids.length < expected.length; i++) {
      if (i) await new Promise((r) => setTimeout(r, 200));
      ids = [];
      for await (const s of client.schedule.list()) ids.push(s.scheduleId);
    }
    // Every schedule a site has without optional settings (sync-ops-to-grp needs CRDS_PUBLISH_DIR).
    expect(ids.sort()).toEqual(expected);
    await client.workflow.execute('clearExpiredLocksWorkflow', { taskQueue: 'crds-hst', workflowId });
  });
  // Workflow outcomes, from the worker's Temporal SDK metrics, by workflow type.
  const completed = async () => {
    const text = await (await fetch(`http://127.0.0.1:${ports.workerMetrics}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('temporal_workflow_completed_total{') && l.includes('workflow_type="clearExpiredLocksWorkflow"'));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  for (let i = 0; i < 50 && (await completed()) < 1; i++) await new Promise((r) => setTimeout(r, 200));
  expect(await completed()).toBeGreaterThanOrEqual(1);

  const started = pids();
  const second = await ops('run');
  expect(second.stderr).toContain('already running');
  expect(pids()).toEqual(started);

  await ops('stop');
  for (const pid of started) expect(alive(pid)).toBe(false);
  expect(fs.readdirSync(path.join(varDir, 'run')).filter((f) => f.endsWith('.pid'))).toEqual([]);

  await ops('run');
  expect(((await (await fetch(`http://127.0.0.1:${ports.web}/health`)).json()) as { status: string }).status).toBe('ok');
  await withClient(async (client) => {
    const described = await client.workflow.getHandle(workflowId).describe();
    expect(described.status.name).toBe('COMPLETED');
  });
});
