// Acceptance: the unmodified `crds` client (PyPI, in .venv) against our server on real
// MariaDB, with the real HST rules and references of ../shared/data/crds-cache imported by
// ops/init's code. Each client command runs as a user would run it, and the test checks its
// output and the files it wrote against the source files and our own rules engine.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappingStore } from '../../crds';
import { importCache } from '../../db/catalog-import';
import { CRDS_PYTHON, TESTDATA } from '../support/paths';
import { crds, clientEnv, REAL_CACHE, run, startSite, type Site } from '../jsonrpc/site';
import { remoteVsLocal } from './remote-vs-local';

jest.setTimeout(300_000);

const CONTEXT = 'hst_0729.pmap';
const SOURCE_MAPPINGS = path.join(REAL_CACHE, 'mappings', 'hst');
const SOURCE_REFERENCES = path.join(REAL_CACHE, 'references', 'hst');
const sha1 = (file: string) => createHash('sha1').update(fs.readFileSync(file)).digest('hex');
const day = (iso: string) => new Date(iso + 'Z');

let site: Site;
let cache: string;

beforeAll(async () => {
  // History and default contexts as the real site had them, from config/hst/server_config.
  site = await startSite({ observatory: 'hst', source: REAL_CACHE, date: day('2019-09-10T10:00:00') });
  cache = path.join(site.work, 'client-cache');
});

describe('the real site\'s history (config/hst/server_config, read here by Python\'s ast.literal_eval)', () => {
  let real: { context_history: [string, string, string][]; operational_context: string; edit_context: string };
  beforeAll(async () => {
    const r = await run(CRDS_PYTHON, ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(open(sys.argv[1]).read())))', path.join(REAL_CACHE, 'config', 'hst', 'server_config')], {});
    expect(r.status).toBe(0);
    real = JSON.parse(r.stdout);
  });

  it('get_context_history answers the site\'s entries for the contexts present, newest first', async () => {
    const present = new Set(fs.readdirSync(SOURCE_MAPPINGS));
    const expected = real.context_history.filter(([, context]) => present.has(context));
    expect(expected.length).toBeGreaterThan(300);
    expect(site.report!.history).toEqual({ imported: expected.length, known: 0, uncatalogued: real.context_history.length - expected.length });
    const got = await site.rpc<[string, string, string][]>('get_context_history', 'hst');
    expect(got).toEqual(expected);
    expect(site.report!.contexts.latest).toEqual({ context: real.operational_context, changed: true });
    expect(site.report!.contexts.edit).toEqual({ context: real.edit_context, changed: true });
  });

  it('crds list --resolve-contexts resolves dates through it; importing again adds no entry', async () => {
    const ctx = (date: string) => crds(site, cache, ['list', '--resolve-contexts', '--contexts', `hst-${date}`]).then((r) => r.stdout.trim());
    // 0727 became operational 2019-08-26 19:03:51 and 0728 on 2019-09-04 14:37:48.
    expect(await ctx('2019-08-26T19:03:50')).not.toBe('hst_0727.pmap');
    expect(await ctx('2019-08-26T19:03:52')).toBe('hst_0727.pmap');
    expect(await ctx('2019-09-04T14:37:49')).toBe('hst_0728.pmap');
    const again = await importCache(site.db, { source: REAL_CACHE, fileCache: site.fileCache, observatory: 'hst' });
    expect(again.history).toEqual({ imported: 0, known: site.report!.history.imported, uncatalogued: site.report!.history.uncatalogued });
    expect((await site.rpc<unknown[]>('get_context_history', 'hst')).length).toBe(site.report!.history.imported);
  });
});
afterAll(async () => {
  await site?.close();
});

const expectClean = (r: { status: number; stdout: string; stderr: string }) => {
  expect(r.stderr).toMatch(/(^|\s)0 errors/m);
  expect(r.status).toBe(0);
};

describe('crds sync', () => {
  it('--contexts hst_0729.pmap fetches every mapping of the context, byte for byte, and they verify', async () => {
    const r = await crds(site, cache, ['sync', '--contexts', CONTEXT]);
    expectClean(r);
    const closure = new MappingStore(SOURCE_MAPPINGS).loadContext(CONTEXT).mappingNames();
    const got = fs.readdirSync(path.join(cache, 'mappings', 'hst')).sort();
    expect(got).toEqual([...closure].sort());
    expect(closure.length).toBeGreaterThan(100);
    for (const name of got) expect(sha1(path.join(cache, 'mappings', 'hst', name))).toBe(sha1(path.join(SOURCE_MAPPINGS, name)));
    // The client wrote the server's config last, after a sync without errors.
    const serverConfig = fs.readFileSync(path.join(cache, 'config', 'hst', 'server_config'), 'utf8');
    expect(serverConfig).toContain("'latest_context': 'hst_0729.pmap'");
  });

  it('--files fetches the references present, byte for byte', async () => {
    const refs = fs.readdirSync(SOURCE_REFERENCES).sort();
    const r = await crds(site, cache, ['sync', '--files', ...refs]);
    expectClean(r);
    for (const name of refs) {
      const files = [path.join(cache, 'references', 'hst', name), ...fs.readdirSync(path.join(cache, 'references', 'hst')).map((d) => path.join(cache, 'references', 'hst', d, name))];
      const local = files.find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
      expect(local).toBeDefined();
      expect(sha1(local!)).toBe(sha1(path.join(SOURCE_REFERENCES, name)));
    }
  });

  it('--check-files --check-sha1sum finds the synced files good, and a damaged one bad', async () => {
    const good = await crds(site, cache, ['sync', '--contexts', CONTEXT, '--check-files', '--check-sha1sum']);
    expectClean(good);
    const victim = path.join(cache, 'mappings', 'hst', 'hst_acs_0421.imap');
    fs.appendFileSync(victim, '# damaged\n');
    const bad = await crds(site, cache, ['sync', '--contexts', CONTEXT, '--check-files', '--check-sha1sum']);
    expect(bad.stderr).toMatch(/hst_acs_0421\.imap/);
    expect(bad.stderr).toMatch(/[1-9]\d* errors/);
    const repaired = await crds(site, cache, ['sync', '--contexts', CONTEXT, '--check-files', '--check-sha1sum', '--repair-files']);
    expect(sha1(victim)).toBe(sha1(path.join(SOURCE_MAPPINGS, 'hst_acs_0421.imap')));
    expect(repaired.stderr).toMatch(/hst_acs_0421\.imap/);
  });

  it('--push-context KEY records the synced context for the pipeline, which crds list --remote-context reads', async () => {
    const key = '8e2ac5b8-52c4-4bb2-a1ad-2c1e1f9d7e5a';
    await site.db.models.RemoteContext.create({ name: 'hst-ops-pipeline', observatory: 'hst', kind: 'latest', key, context: 'hst_0727.pmap' });
    const r = await crds(site, cache, ['sync', '--contexts', CONTEXT, '--push-context', key]);
    expectClean(r);
    const listed = await crds(site, cache, ['list', '--remote-context', 'hst-ops-pipeline']);
    expect(listed.stdout.trim()).toBe(CONTEXT);
    const wrongKey = await site.rpcEnvelope('push_remote_context', ['hst', 'latest', '00000000-0000-0000-0000-000000000000', CONTEXT]);
    expect(wrongKey.error?.name).toBe('InvalidKey');
  });
});

describe('crds bestrefs and the Python API', () => {
  it('bestrefs --files j8bt05njq_raw.fits --new-context hst_0729.pmap prints what our server answers for its header', async () => {
    const dataset = path.join(site.work, 'j8bt05njq_raw.fits');
    fs.copyFileSync(path.join(TESTDATA, 'hst', 'j8bt05njq_raw.fits'), dataset);
    const r = await crds(site, cache, ['bestrefs', '--files', dataset, '--new-context', CONTEXT, '--print-new-references']);
    expectClean(r);
    const printed: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^\S+j8bt05njq_raw\.fits acs (\w+) none (\S+)$/.exec(line.trim());
      if (m) printed[m[1]] = m[2];
    }
    expect(Object.keys(printed).length).toBeGreaterThan(15);
    // The same dataset's minimum header through the client's remote API (our server).
    const py = `import json, sys\nfrom crds import client\nfrom crds.client import api\nh = api.get_minimum_header(sys.argv[1], sys.argv[2])\nprint(json.dumps(client.get_best_references(sys.argv[1], h)))\n`;
    const remote = await run(CRDS_PYTHON, ['-c', py, CONTEXT, dataset], clientEnv(site, cache));
    expect(remote.stderr).not.toMatch(/Traceback/);
    const answer = JSON.parse(remote.stdout) as Record<string, string>;
    const expected = Object.fromEntries(Object.entries(answer).map(([t, v]) => [t, v === 'NOT FOUND n/a' ? 'n/a' : v.toLowerCase()]));
    expect(printed).toEqual(expected);
    expect(printed.darkfile).toMatch(/_drk\.fits$/);
  });

  it('crds.client.get_best_references equals the client\'s own local answer on a few hundred real-rule headers', async () => {
    const summary = await remoteVsLocal(site, cache, CONTEXT);
    const { count } = summary;
    expect(summary.no_json_form).toBeLessThan(count * 0.05);
    expect(summary.same).toBeGreaterThan(count * 0.9);
  });
});

describe('crds list', () => {
  it('--status shows the server\'s latest context and when it last synced', async () => {
    const r = await crds(site, cache, ['list', '--status']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Effective Context = 'hst_0729\.pmap'/);
    expect(r.stdout).toMatch(/Last Synced = '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  });

  it('--config shows the server info and our download URLs', async () => {
    const r = await crds(site, cache, ['list', '--config']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`mapping_url = {'hst': '${site.url}/unchecked_get/mappings/hst/'}`);
    expect(r.stdout).toContain(`reference_url = {'hst': '${site.url}/unchecked_get/references/hst/'}`);
    expect(r.stdout).toMatch(/latest_context = 'hst_0729\.pmap'/);
    expect(r.stdout).toMatch(/connected = True/);
  });

  it('--cat shows a reference\'s catalog entry from get_file_info_map', async () => {
    const r = await crds(site, cache, ['list', '--cat', 'hst_0729.pmap']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("'sha1sum': '" + sha1(path.join(SOURCE_MAPPINGS, CONTEXT)) + "'");
    expect(r.stdout).toContain("'state': 'latest'");
    expect(r.stdout).toContain("'size': '" + fs.statSync(path.join(SOURCE_MAPPINGS, CONTEXT)).size + "'");
  });

  it('--mappings / --references --contexts list the closure; --resolve-contexts walks the history', async () => {
    const store = new MappingStore(SOURCE_MAPPINGS).loadContext(CONTEXT);
    const mappings = await crds(site, cache, ['list', '--mappings', '--contexts', CONTEXT]);
    expect(mappings.stdout.trim().split('\n')).toEqual(store.mappingNames().sort());
    const references = await crds(site, cache, ['list', '--references', '--contexts', CONTEXT]);
    expect(references.stdout.trim().split('\n')).toEqual([...new Set(store.referenceNames())].filter((n) => n !== 'N/A').sort());
    const resolved = await crds(site, cache, ['list', '--resolve-contexts', '--contexts', 'hst-2019-09-05T00:00:00']);
    expect(resolved.stdout.trim()).toBe('hst_0728.pmap');
    const latest = await crds(site, cache, ['list', '--resolve-contexts', '--contexts', 'hst-latest']);
    expect(latest.stdout.trim()).toBe(CONTEXT);
  });
});

it('crds query_affected prints the stored affected datasets of each context transition', async () => {
  const { AffectedDatasets } = site.db.models;
  await AffectedDatasets.create({ computationDir: '2019-09-04-14-40-00_0727_0728', oldContext: 'hst_0727.pmap', newContext: 'hst_0728.pmap', affectedIds: ['IBXY01ABQ', 'IBXY02CDQ'], bestrefsStatus: 0, bestrefsErr: 'CRDS - INFO - 0 errors' });
  await AffectedDatasets.create({ computationDir: '2019-09-09-16-15-00_0728_0729', oldContext: 'hst_0728.pmap', newContext: 'hst_0729.pmap', affectedIds: ['IBXY02CDQ', 'ID1234EFQ'], bestrefsStatus: 0, bestrefsErr: 'CRDS - INFO - 0 errors' });
  const r = await crds(site, cache, ['query_affected', '-x', 'hst_0727.pmap', '-y', CONTEXT]);
  expect(r.stderr).not.toMatch(/Traceback/);
  // The union of both transitions' ids, each once.
  expect(r.stdout.trim().split('\n').sort()).toEqual(['IBXY01ABQ', 'IBXY02CDQ', 'ID1234EFQ']);
});
