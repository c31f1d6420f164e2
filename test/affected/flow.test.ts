// The affected-datasets flow end to end on real MariaDB, Temporal and worker processes: an
// operator previews and activates on the web (the preview's result is reused, the mail
// arrives at a real SMTP receiver), refusals change nothing, the monitor-reprocessing
// schedule runs a transition made directly in the database once, and a re-run with two
// workers, one killed with SIGKILL mid-run, completes with the same ids and every batch once.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QueryTypes } from 'sequelize';
import { createUser, setGroup } from '../../db/accounts';
import { contextHistory } from '../../db/catalog';
import { getReprocessingState, listRuns } from '../../db/affected-runs';
import { setContext } from '../../db/set-context';
import { createAffectedService } from '../../web/affected-service';
import { stopProcess, type Started } from '../support/processes';
import { WebSession } from '../web/web-session';
import { launchBrowser } from '../support/browser';
import { REPO_ROOT } from '../support/paths';
import { startAffectedSite, type AffectedSite } from './harness';

jest.setTimeout(300_000);

let s: AffectedSite;
let worker: Started;

const until = async <T>(f: () => Promise<T | undefined>, ms = 120_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 300));
  }
};

beforeAll(async () => {
  s = await startAffectedSite('affflow', ['hst_0697.pmap', 'hst_0698.pmap', 'hst_0705.pmap']);
  worker = await s.startWorker();
  await s.addDatasets('hst_0698.pmap', 1200, 21);
  await createUser(s.site.db, { username: 'olga', email: 'olga@test.example', password: 'olga-password' });
  await createUser(s.site.db, { username: 'sam', email: 'sam@test.example', password: 'sam-password' });
  await setGroup(s.site.db, 'ops', ['*'], ['olga']);
});

afterAll(async () => {
  await s?.close();
});

const runManage = (args: string[]) =>
  new Promise<{ status: number | null; stderr: string }>((resolve) => {
    execFile(path.join(REPO_ROOT, 'ops', 'manage'), args, { env: { ...process.env, ...s.workerEnv } }, (err, _stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });

const history = async () => (await contextHistory(s.site.db)).map((h) => `${h.context}:${h.description}`);

it('refuses bad input with a clear message and changes nothing', async () => {
  const before = await history();
  const refuse = (context: string, kind = 'operational', why = 'x') => setContext(s.site.db, s.site.config, { context, kind, why, username: 'ops' });
  await expect(refuse('hst_9999.pmap')).rejects.toThrow(/not catalogued/);
  await expect(refuse('hst_0698.pmap', 'nightly')).rejects.toThrow(/Unknown context kind/);
  await expect(refuse('hst_0697.pmap')).rejects.toThrow(/already the operational context/);
  await expect(refuse('../etc/passwd')).rejects.toThrow(/not a pipeline context name/);
  // A context whose rules are missing from the file cache.
  const name = (await s.site.db.sequelize.query<{ name: string }>("SELECT name FROM catalog_files WHERE name LIKE 'hst_wfc3_darkfile_%.rmap' ORDER BY name DESC LIMIT 1", { type: QueryTypes.SELECT }))[0]!.name;
  const moved = path.join(s.site.fileCache, 'mappings', 'hst', name);
  const aside = `${moved}.aside`;
  fs.renameSync(moved, aside);
  try {
    await expect(refuse('hst_0705.pmap')).rejects.toThrow(/incomplete in the file cache/);
  } finally {
    fs.renameSync(aside, moved);
  }
  // A rejected context.
  await s.site.db.models.CatalogFile.update({ rejected: true }, { where: { name: 'hst_0705.pmap' } });
  await expect(refuse('hst_0705.pmap')).rejects.toThrow(/is bad/);
  await s.site.db.models.CatalogFile.update({ rejected: false }, { where: { name: 'hst_0705.pmap' } });
  // On the web: not an operator; no CSRF token.
  const sam = new WebSession(s.site.url);
  await sam.login('sam', 'sam-password');
  expect((await sam.post('/set_default_context/', { context: 'hst_0698.pmap', context_type: 'operational', description: 'no' })).status).toBe(403);
  const olga = new WebSession(s.site.url);
  await olga.login('olga', 'olga-password');
  expect((await olga.post('/set_default_context/', { context: 'hst_0698.pmap', context_type: 'operational', description: 'no', csrfmiddlewaretoken: '' })).status).toBe(403);
  const unknown = await olga.post('/set_default_context/', { context: 'hst_0001.pmap', context_type: 'operational', description: 'no' });
  expect(unknown.status).toBe(400);
  expect(unknown.text).toMatch(/not catalogued/);
  // A re-run: operators only, with the token, of a transition that ran.
  expect((await sam.post('/affected_datasets/rerun', { old_context: 'hst_0697.pmap', new_context: 'hst_0698.pmap' })).status).toBe(403);
  expect((await olga.post('/affected_datasets/rerun', { old_context: 'hst_0697.pmap', new_context: 'hst_0698.pmap', csrfmiddlewaretoken: '' })).status).toBe(403);
  const never = await olga.post('/affected_datasets/rerun', { old_context: 'hst_0697.pmap', new_context: 'hst_0698.pmap' });
  expect(never.status).toBe(400);
  expect(never.text).toContain('No affected datasets run of hst_0697.pmap → hst_0698.pmap to compute again');
  const cli = await runManage(['affected-rerun', 'hst_0697.pmap', 'hst_0705.pmap']);
  expect(cli.status).toBe(1);
  expect(cli.stderr).toContain('hst_0697.pmap -> hst_0705.pmap never ran: nothing to compute again');
  expect(await listRuns(s.site.db, {})).toEqual([]);
  expect(await history()).toEqual(before);
});

it('previews, then activates on the web reusing the preview; mails the counts; a second activation is refused', async () => {
  const olga = new WebSession(s.site.url);
  await olga.login('olga', 'olga-password');
  const page = await olga.get('/set_default_context/');
  expect(page.status).toBe(200);
  expect(page.text).toContain('hst_0698.pmap');
  const preview = await olga.post('/set_default_context/preview', { context: 'hst_0698.pmap' });
  expect(preview.status).toBe(202);
  const { workflowId, progress } = preview.json<{ workflowId: string; progress: string }>();
  expect(workflowId).toBe('affected-preview-hst-0697-0698');
  const previewed = await until(async () => {
    const p = (await olga.get(progress)).json<{ status: string; affected: number; counts: object; datasetsTotal: number }>();
    return p.status === 'completed' ? p : undefined;
  });
  expect(previewed.datasetsTotal).toBeGreaterThan(0);
  // Activate: the same transition's run takes the preview's result (the datasets did not change).
  const [a, b] = await Promise.all([
    olga.post('/set_default_context/', { context: 'hst_0698.pmap', context_type: 'operational', description: 'new WFC3 darks' }),
    olga.post('/set_default_context/', { context: 'hst_0698.pmap', context_type: 'operational', description: 'new WFC3 darks' }),
  ]);
  expect([a.status, b.status].sort()).toEqual([303, 400]);
  expect((a.status === 400 ? a : b).text).toMatch(/already the operational context/);
  const outcome = await s.result('affected-hst-0697-0698');
  expect(outcome.reusedFrom).toMatch(/^affected-preview-hst-0697-0698\//);
  expect(await (await s.client.workflow.getHandle('affected-hst-0697-0698').describe()).staticSummary()).toBe('affected datasets activation: hst_0697.pmap → hst_0698.pmap (olga)');
  expect(outcome.affected).toBe(previewed.affected);
  expect(outcome.counts).toEqual(previewed.counts);
  expect((await history()).filter((h) => h.startsWith('hst_0698.pmap:'))).toEqual(['hst_0698.pmap:new WFC3 darks']);
  const mail = await until(async () => s.mails.find((m) => /datasets affected hst_0697\.pmap --> hst_0698\.pmap/.test(m.subject)));
  expect(mail.to).toEqual(['reprocessing@test.example']);
  expect(mail.text).toContain(`${outcome.affected} affected products among ${outcome.datasets} datasets`);
  expect(mail.text).toMatch(/filename=affected_ids\.txt/);
  const result = await olga.get(`/affected_datasets/${encodeURIComponent(outcome.computationDir)}/`);
  expect(result.status).toBe(200);
  const ids = await olga.get(`/affected_datasets/${encodeURIComponent(outcome.computationDir)}/affected_ids.txt`);
  expect(ids.text.split('\n').filter(Boolean)).toHaveLength(outcome.affected);
  expect((await olga.get('/affected_datasets/')).text).toContain(encodeURIComponent(outcome.computationDir));
  const rpc = await s.site.rpc<{ affected_ids: string[]; bestrefs_status: number }>('get_affected_datasets', 'hst', 'hst_0697.pmap', 'hst_0698.pmap');
  expect(rpc.affected_ids).toEqual(ids.text.split('\n').filter(Boolean));
});

it('the schedule runs a transition made directly in the database, once', async () => {
  expect(await getReprocessingState(s.site.db, 'last_operational_context')).toBe('hst_0698.pmap');
  await s.site.db.sequelize.query("UPDATE default_contexts SET context = 'hst_0705.pmap' WHERE state = 'latest'");
  const schedule = s.client.schedule.getHandle('monitor-reprocessing');
  await schedule.trigger();
  const outcome = await until(async () => (await s.client.workflow.getHandle('affected-hst-0698-0705').describe().catch(() => undefined)) && s.result('affected-hst-0698-0705'));
  expect(outcome.datasets).toBeGreaterThan(0);
  expect(await (await s.client.workflow.getHandle('affected-hst-0698-0705').describe()).staticSummary()).toBe(
    'affected datasets activation: hst_0698.pmap → hst_0705.pmap (schedule monitor-reprocessing)',
  );
  await until(async () => (await getReprocessingState(s.site.db, 'last_operational_context')) === 'hst_0705.pmap');
  await schedule.trigger();
  await until(async () => ((await schedule.describe()).info.recentActions.length >= 2 ? true : undefined));
  for (const action of (await schedule.describe()).info.recentActions) await s.client.workflow.getHandle(action.action.workflow.workflowId).result();
  expect((await listRuns(s.site.db, { workflowId: 'affected-hst-0698-0705' })).length).toBe(1);
});

it('in a real browser, an operator previews, sees the counts and the chart, activates, and follows the run to its result', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-affected-browser-'));
  const browser = await launchBrowser(work);
  try {
    const page = await browser.newPage();
    await page.goto(`${s.site.url}/set_default_context/`);
    expect(new URL(page.url()).pathname).toBe('/login/');
    await page.fill('input[name=username]', 'olga');
    await page.fill('input[name=password]', 'olga-password');
    await page.click('#login-form button[type=submit]');
    await page.goto(`${s.site.url}/set_default_context/`);
    expect(await page.textContent('#current-operational')).toBe('hst_0705.pmap');
    await page.selectOption('#context', 'hst_0697.pmap');
    await page.click('#preview-button');
    await page.waitForSelector('#preview-status[data-status=completed]', { timeout: 120_000 });
    expect(await page.textContent('#preview-transition')).toBe('hst_0705.pmap → hst_0697.pmap');
    const previewed = await s.result('affected-preview-hst-0705-0697');
    // The table shows the workflow's counts per instrument and type; chart.js drew the chart.
    const rows = await page.$$eval('#preview-counts tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const expected = Object.entries(previewed.counts).flatMap(([instrument, types]) => Object.entries(types).map(([type, n]) => [instrument, type, String(n)]));
    expect(expected.length).toBeGreaterThan(0);
    expect(rows).toEqual(expected);
    expect(await page.evaluate("!!Chart.getChart(document.getElementById('preview-chart'))")).toBe(true);
    await page.screenshot({ path: path.join(work, 'preview.png'), fullPage: true });

    await page.fill('#description', 'browser test: back to 0697');
    await Promise.all([page.waitForURL(/\/affected_datasets\/run\//), page.click('#activate-button')]);
    await page.waitForSelector('#preview-status[data-status=completed]', { timeout: 120_000 });
    await page.waitForSelector('#result-link:not([hidden]) a');
    await Promise.all([page.waitForURL(/\/affected_datasets\/.+_0705_0697\//), page.click('#result-link a')]);
    const outcome = await s.result('affected-hst-0705-0697');
    expect(outcome.affected).toBe(previewed.affected);
    expect(await page.textContent('body')).toContain(String(outcome.affected));
    expect(await page.isVisible('#rerun-button')).toBe(true); // operators may ask for a re-run
    expect((await contextHistory(s.site.db))[0]).toMatchObject({ context: 'hst_0697.pmap', description: 'browser test: back to 0697' });
  } finally {
    await browser.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
});

it('a re-run on two workers, one killed with SIGKILL mid-run, gives the same ids and counts every batch once', async () => {
  const second = await s.startWorker();
  const service = createAffectedService({ client: async () => s.client, config: s.site.config, db: s.site.db, batchSize: 5, parallelism: 2 }); // many small batches: the kill lands mid-run on a quiet machine too
  const first = await listRuns(s.site.db, { workflowId: 'affected-hst-0698-0705' });
  const operational = await getReprocessingState(s.site.db, 'last_operational_context');
  const id = (await service.startRerun('hst_0698.pmap', 'hst_0705.pmap', 'ops'))!;
  expect(id).toBe('affected-hst-0698-0705');
  expect(await getReprocessingState(s.site.db, 'last_operational_context')).toBe(operational); // a re-run changes nothing of the monitor's
  const handle = s.client.workflow.getHandle(id);
  const seen = await until(async () => {
    const p = await handle.query<{ batchesDone: number; batchesTotal: number; workers: Record<string, number> }>('affectedProgress').catch(() => undefined);
    return p && p.batchesDone >= 2 ? p : undefined;
  });
  expect(seen.batchesDone).toBeLessThan(seen.batchesTotal);
  await stopProcess(worker, 'SIGKILL');
  const outcome = await s.result(id);
  const runs = await listRuns(s.site.db, { workflowId: id });
  expect(runs).toHaveLength(2);
  expect(outcome.affected).toBe(first[0]!.affected);
  expect(outcome.datasets).toBe(first[0]!.datasets);
  const rows = await s.site.db.sequelize.query<{ n: number; workers: number }>(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT worker) AS workers FROM affected_batches WHERE run_key = ?',
    { replacements: [runs[0]!.runKey], type: QueryTypes.SELECT },
  );
  expect(Number(rows[0]!.n)).toBe(seen.batchesTotal);
  // Both worker processes took batches.
  expect(Number(rows[0]!.workers)).toBe(2);
  await stopProcess(second);
});
