// Acceptance: the affected datasets our workflow stores for a context change equal, as sets,
// what the real client computes against our running server for the same two contexts
// (`crds bestrefs --affected-datasets --old-context X --new-context Y`, which reads our
// get_dataset_ids / get_dataset_headers_by_id), and its exit status is the stored
// bestrefs.status. Real HST rules (../shared/data/crds-cache), real MariaDB, Temporal, worker
// processes. Pairs: an rmap header change only, a reference deleted, and two with several
// types and datasets-since cut-offs. The real `crds query_affected` reads one result back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setContext } from '../../db/set-context';
import { setDefaultContext } from '../../db/catalog';
import { setReprocessingState } from '../../db/affected-runs';
import { crds } from '../jsonrpc/site';
import { startAffectedSite, type AffectedSite } from './harness';

jest.setTimeout(600_000);

let s: AffectedSite;
let cache: string;

beforeAll(async () => {
  s = await startAffectedSite('affdiff', ['hst_0697.pmap', 'hst_0698.pmap', 'hst_0705.pmap', 'hst_0250.pmap', 'hst_0251.pmap', 'hst_0264.pmap']);
  process.stderr.write(`site ready\n`);
  await s.startWorker();
  // Datasets of two eras' modes, over each instrument's life.
  await s.addDatasets('hst_0698.pmap', 700, 11);
  await s.addDatasets('hst_0251.pmap', 700, 12);
  cache = path.join(s.site.work, 'client-cache');
});

afterAll(async () => {
  await s?.close();
});

/** Sets the operational context as an operator does and waits for the transition's run. */
async function activate(oldContext: string, newContext: string) {
  const outcome = await setContext(s.site.db, s.site.config, { context: newContext, kind: 'operational', why: `test ${newContext}`, username: 'ops' });
  expect(outcome.previous).toBe(oldContext);
  const workflowId = await s.service.startActivation(oldContext, newContext, 'ops');
  expect(workflowId).toBe(`affected-hst-${oldContext.slice(4, 8)}-${newContext.slice(4, 8)}`);
  const started = Date.now();
  const result = await s.result(workflowId);
  process.stderr.write(`ours ${oldContext} -> ${newContext}: ${result.datasets} datasets, ${result.affected} affected, ${Date.now() - started} ms\n`);
  const dir = path.join(s.site.config.reprocessingDir, result.computationDir);
  const ids = fs.readFileSync(path.join(dir, 'affected_ids.txt'), 'utf8').split('\n').filter(Boolean);
  const status = Number(fs.readFileSync(path.join(dir, 'bestrefs.status'), 'utf8'));
  return { result, ids, status, dir };
}

async function client(oldContext: string, newContext: string) {
  const started = Date.now();
  const r = await crds(s.site, cache, ['bestrefs', '--affected-datasets', '--old-context', oldContext, '--new-context', newContext]);
  process.stderr.write(`client ${oldContext} -> ${newContext}: status ${r.status}, ${Date.now() - started} ms\n`);
  const ids = r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[a-z0-9]+$/.test(l));
  return { ...r, ids };
}

it.each([
  ['hst_0697.pmap', 'hst_0698.pmap', 'deletes a WFC3 reference (every date counts)'],
  ['hst_0698.pmap', 'hst_0705.pmap', 'several instruments and types, datasets-since cut-offs'],
])('%s -> %s (%s): the same affected ids and status as the real client', async (oldContext, newContext) => {
  const ours = await activate(oldContext, newContext);
  const theirs = await client(oldContext, newContext);
  expect(theirs.stderr).toMatch(/Affected products = \d+/);
  expect(new Set(ours.ids)).toEqual(new Set(theirs.ids));
  expect(ours.status).toBe(theirs.status);
  expect(ours.result.datasets).toBeGreaterThan(0);
});

it('hst_0250 -> hst_0251 (only an rmap header changes) and hst_0251 -> hst_0264: the same as the real client; query_affected reads them back', async () => {
  // Reposition without a run (an operator's --no-affected), as if the site had been at 0250.
  await setDefaultContext(s.site.db, { state: 'latest', context: 'hst_0250.pmap', username: 'ops', description: 'reposition', mappingsDir: path.join(s.site.fileCache, 'mappings', 'hst') });
  await setReprocessingState(s.site.db, 'last_operational_context', 'hst_0250.pmap');
  for (const [oldContext, newContext] of [
    ['hst_0250.pmap', 'hst_0251.pmap'],
    ['hst_0251.pmap', 'hst_0264.pmap'],
  ]) {
    const ours = await activate(oldContext, newContext);
    const theirs = await client(oldContext, newContext);
    expect(new Set(ours.ids)).toEqual(new Set(theirs.ids));
    expect(ours.status).toBe(theirs.status);
    expect(ours.result.datasets).toBeGreaterThan(0);
  }
  const q = await crds(s.site, cache, ['query_affected', '-x', 'hst_0251.pmap', '-y', 'hst_0264.pmap']);
  process.stderr.write(q.stderr.slice(-2000));
  const queried = q.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[a-z0-9]+$/.test(l));
  const stored = fs.readFileSync(path.join((await activateResultDir('hst_0251.pmap', 'hst_0264.pmap')), 'affected_ids.txt'), 'utf8').split('\n').filter(Boolean);
  expect(new Set(queried)).toEqual(new Set(stored));
});

async function activateResultDir(oldContext: string, newContext: string): Promise<string> {
  const row = await s.site.db.models.AffectedDatasets.findOne({ where: { oldContext, newContext } });
  return path.join(s.site.config.reprocessingDir, row!.computationDir);
}
