// Cache publishing (the original's sync_ops_to_grp): the real worker process, on real MariaDB
// and Temporal, publishes the demo site into a read-only cache through its schedule; the real
// `crds` client, offline with CRDS_READONLY_CACHE=1 on that cache, answers what our server
// answers. A worker killed with SIGKILL in the middle of a large copy leaves the previous
// context in force, and the same run completes on a new worker.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { bumpGeneration, DISTRIBUTION_STATES, setDefaultContext } from '../../db/catalog';
import { sha1sum } from '../../db/catalog-import';
import { SCHEDULES } from '../../workers/schedules';
import type { PublishReport } from '../../workflows/publish';
import { CRDS_CLI, DEMO_CACHE, run, startSite, type Site } from '../jsonrpc/site';
import { CRDS_PYTHON, REPO_ROOT } from '../support/paths';
import { freePorts } from '../support/ports';
import { startProcess, stopProcess, type Started } from '../support/processes';
import { freshNamespace, temporalAddress, uniqueName } from '../support/services';

jest.setTimeout(480_000);

const BIG = 'x9z9999zz_drk.fits';
const BIG_BYTES = 512 << 20;
let site: Site;
let publishDir: string;
let namespace: string;
const taskQueue = uniqueName('publish');
let connection: Connection;
let client: Client;
let worker: Started | undefined;
let deadPort: number;

const startWorker = () =>
  startProcess(
    'workers/main.ts',
    {
      CRDS_USECASE: 'test',
      CRDS_OBSERVATORY: 'hst',
      CRDS_DATABASE_URL: site.config.databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: namespace,
      CRDS_TASK_QUEUE: taskQueue,
      CRDS_FILE_CACHE: site.fileCache,
      CRDS_SERVER_FILES: path.join(site.work, 'server_files'),
      CRDS_SITE_URL: site.url,
      CRDS_PUBLISH_DIR: publishDir,
      CRDS_SPECS_DIR: path.join(REPO_ROOT, 'config', 'demo', 'specs'),
    },
    /Worker state changed[\s\S]*RUNNING/,
    // Bundling the workflows takes a minute on a busy 2-core machine.
    180_000,
  );

const schedule = () => client.schedule.getHandle('sync-ops-to-grp');

/** Triggers the (paused) schedule and returns the run it started. */
async function trigger(): Promise<WorkflowHandle> {
  const before = (await schedule().describe()).info.recentActions.length;
  await schedule().trigger();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
    const actions = (await schedule().describe()).info.recentActions;
    if (actions.length > before) {
      const started = actions[actions.length - 1]!.action.workflow;
      return client.workflow.getHandle(started.workflowId, started.firstExecutionRunId);
    }
  }
  throw new Error('the schedule started no run');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real client on the published cache, offline (its server URL answers nothing), read-only. */
const offlineCrds = (args: string[]) =>
  run(CRDS_CLI, args, {
    CRDS_PATH: publishDir,
    CRDS_READONLY_CACHE: '1',
    CRDS_SERVER_URL: `http://127.0.0.1:${deadPort}`,
    CRDS_OBSERVATORY: 'hst',
    CRDS_MODE: 'local',
  });

const HEADER = { INSTRUME: 'ACS', DETECTOR: 'WFC', CCDAMP: 'ABCD', 'DATE-OBS': '2017-06-01', 'TIME-OBS': '00:00:00' };
let dataset: string;

/** `crds bestrefs --files` on the published cache (its default context): {reftype: file}, and `crds list --operational-context`. */
async function offlineBestrefs(): Promise<{ context: string; refs: Record<string, string> }> {
  const r = await offlineCrds(['bestrefs', '--files', dataset, '--print-new-references']);
  expect(r.stderr).toMatch(/(^|\s)0 errors/m);
  const refs: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /dataset\.fits \S+ (\w+) \S+ (\S+)$/.exec(line.trim());
    if (m) refs[m[1]] = m[2];
  }
  if (!Object.keys(refs).length) throw new Error(`crds bestrefs printed:\n${r.stdout}\n${r.stderr}`);
  // The context bestrefs used by default: the operational one of the cache's server_config.
  const context = (await offlineCrds(['list', '--operational-context'])).stdout.trim();
  return { context, refs };
}

/** What our server answers for the same header under `context` (names as the client prints them). */
async function serverBestrefs(context: string): Promise<Record<string, string>> {
  const answer = await site.rpc<Record<string, string>>('get_best_references', context, HEADER, null);
  return Object.fromEntries(Object.entries(answer).map(([t, v]) => [t, v.startsWith('NOT FOUND') ? 'n/a' : v.toLowerCase()]));
}

const published = (kind: string, name: string) => path.join(publishDir, kind, 'hst', name);
const serverConfig = () => fs.readFileSync(published('config', 'server_config'), 'utf8');
const tempFiles = () => ['mappings', 'references'].flatMap((k) => fs.readdirSync(path.join(publishDir, k, 'hst')).filter((n) => n.endsWith('.publishing')));

beforeAll(async () => {
  site = await startSite({ observatory: 'hst', source: DEMO_CACHE, contexts: { latest: 'hst_0001.pmap', edit: 'hst_0002.pmap' } });
  publishDir = path.join(site.work, 'grp-cache');
  [deadPort] = await freePorts(1);
  dataset = path.join(site.work, 'dataset.fits');
  const py = 'import sys, json\nfrom astropy.io import fits\nh = fits.Header()\nfor k, v in json.loads(sys.argv[2]).items(): h[k] = v\nfits.PrimaryHDU(header=h).writeto(sys.argv[1])\n';
  expect((await run(CRDS_PYTHON, ['-c', py, dataset, JSON.stringify(HEADER)], {})).status).toBe(0);
  namespace = await freshNamespace('publish');
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection, namespace });
  worker = await startWorker();
  // Runs only when the test triggers them.
  await schedule().pause('test: triggered runs only');
});

afterAll(async () => {
  await stopProcess(worker);
  await connection?.close();
  await site?.close();
});

it('is created by the worker when CRDS_PUBLISH_DIR is set, every 10 minutes, its runs described in Temporal UI', async () => {
  expect(worker!.output()).toMatch(/"sync-ops-to-grp":"(created|updated)"/);
  const description = await schedule().describe();
  expect(description.spec.intervals).toEqual([expect.objectContaining({ every: 10 * 60_000 })]);
  expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'syncOpsToGrpWorkflow', taskQueue });
  expect(description.action.staticSummary).toBe('sync-ops-to-grp (every 10 minutes) (schedule sync-ops-to-grp)');
  expect(SCHEDULES.find((s) => s.scheduleId === 'sync-ops-to-grp')).toBeDefined();
});

it('publishes every available file and, last, server_config: the real client offline answers as our server', async () => {
  const run1 = await trigger();
  const report = (await run1.result()) as PublishReport;
  const available = (await site.db.models.CatalogFile.findAll()).filter((f) => DISTRIBUTION_STATES.has(f.state));
  expect(available.length).toBeGreaterThan(15);
  expect(report.files[0]!.copied).toBe(available.length);
  for (const f of available) {
    const file = published(f.type === 'mapping' ? 'mappings' : 'references', f.name);
    expect(await sha1sum(file)).toBe(f.sha1sum);
  }
  expect(report.config.written).toEqual(['ref_cache_subdir_mode', 'bad_files.txt', 'server_config']);

  // The run's own metadata, as Temporal UI shows it.
  const described = await run1.describe();
  expect(await described.staticSummary()).toBe('sync-ops-to-grp (every 10 minutes) (schedule sync-ops-to-grp)');
  expect(await described.staticDetails()).toMatch(/\*\*Started by:\*\* schedule sync-ops-to-grp/);

  const before = listTree(publishDir);
  const offline = await offlineBestrefs();
  expect(offline.context).toBe('hst_0001.pmap');
  expect(offline.refs).toEqual(await serverBestrefs('hst_0001.pmap'));
  expect(offline.refs.darkfile).toBe('d1a1001aj_drk.fits');
  const mappings = await offlineCrds(['list', '--mappings', '--contexts', 'hst_0002.pmap']);
  expect(mappings.stdout.trim().split(/\s+/).sort()).toEqual((await site.rpc<string[]>('get_mapping_names', 'hst_0002.pmap')).sort());
  // Read-only: the client wrote nothing into the published cache.
  expect(listTree(publishDir)).toEqual(before);
});

it('leaves the previous context in force when its worker is killed mid-copy; the same run then completes, and the next copies nothing', async () => {
  // A large reference and a new operational context.
  const source = path.join(site.fileCache, 'references', 'hst', BIG);
  fs.closeSync(fs.openSync(source, 'w'));
  fs.truncateSync(source, BIG_BYTES); // sparse: no disk for the source
  const { CatalogFile } = site.db.models;
  const template = (await CatalogFile.findOne({ where: { name: 'd1a1001aj_drk.fits' } }))!.get({ plain: true });
  const { id: _id, createdAt: _c, updatedAt: _u, ...fields } = template;
  await CatalogFile.create({ ...fields, name: BIG, size: BIG_BYTES, sha1sum: await sha1sum(source), state: 'archived' });
  await bumpGeneration(site.db);
  await setDefaultContext(site.db, { state: 'latest', context: 'hst_0002.pmap', username: 'test', description: 'test', mappingsDir: path.join(site.fileCache, 'mappings', 'hst') });
  const configBefore = serverConfig();

  const run2 = await trigger();
  // Killed while the large file is being written under its temporary name.
  for (const deadline = Date.now() + 60_000; ; await sleep(10)) {
    const temp = tempFiles()[0];
    if (temp && fs.statSync(path.join(publishDir, 'references', 'hst', temp)).size > 0) break;
    if (Date.now() > deadline) throw new Error('the large copy never started');
  }
  await stopProcess(worker, 'SIGKILL');
  expect(fs.existsSync(published('references', BIG))).toBe(false);
  expect(serverConfig()).toBe(configBefore);
  expect((await offlineBestrefs()).context).toBe('hst_0001.pmap');

  // The copy heartbeats: Temporal knows which file it was at.
  const pending = (await run2.describe()).raw.pendingActivities![0]!;
  expect(pending.activityType!.name).toBe('publishFiles');
  expect(defaultPayloadConverter.fromPayload(pending.heartbeatDetails!.payloads![0]!)).toMatchObject({ file: BIG, size: BIG_BYTES });

  worker = await startWorker();
  const restartedAt = Date.now();
  const report = (await run2.result()) as PublishReport;
  // Taken over after the heartbeat timeout (10 s, passed while the worker restarted), not the copy's 6-hour limit.
  expect(Date.now() - restartedAt).toBeLessThan(60_000);
  expect(report.files[report.files.length - 1]!.copied).toBe(1);
  expect(report.config.operationalContext).toBe('hst_0002.pmap');
  expect(report.config.written).toEqual(['server_config']);
  expect(fs.statSync(published('references', BIG)).size).toBe(BIG_BYTES);
  expect(await sha1sum(published('references', BIG))).toBe(await sha1sum(source));
  expect(tempFiles()).toEqual([]);
  const history = await run2.fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
  expect(Math.max(...attempts)).toBeGreaterThan(1);

  const offline = await offlineBestrefs();
  expect(offline.context).toBe('hst_0002.pmap');
  expect(offline.refs).toEqual(await serverBestrefs('hst_0002.pmap'));
  expect(offline.refs.darkfile).toBe('d1a1001cj_drk.fits');

  // Incremental: nothing changed, nothing is written (server_config's bytes and time stay).
  const stamp = fs.statSync(published('config', 'server_config')).mtimeMs;
  const run3 = (await (await trigger()).result()) as PublishReport;
  expect(run3.files[0]).toMatchObject({ copied: 0, failed: {} });
  expect(run3.config.written).toEqual([]);
  expect(fs.statSync(published('config', 'server_config')).mtimeMs).toBe(stamp);
});

function listTree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((p) => {
    const full = path.join(dir, p);
    const st = fs.statSync(full);
    return st.isFile() ? `${p} ${st.size} ${createHash('sha1').update(fs.readFileSync(full)).digest('hex').slice(0, 8)}` : p;
  });
}
