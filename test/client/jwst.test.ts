// Acceptance for JWST: the real client against our server on MariaDB with the real JWST rules
// (jwst_0541.pmap, dotted META.* parkeys), and the site's bad files imported from
// config/jwst/bad_files.txt.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MappingStore } from '../../crds';
import { CRDS_PYTHON } from '../support/paths';
import { clientEnv, crds, REAL_CACHE, run, startSite, type Site } from '../jsonrpc/site';
import { remoteVsLocal } from './remote-vs-local';

jest.setTimeout(300_000);

const CONTEXT = 'jwst_0541.pmap';
const SOURCE_MAPPINGS = path.join(REAL_CACHE, 'mappings', 'jwst');
const sha1 = (file: string) => createHash('sha1').update(fs.readFileSync(file)).digest('hex');

let site: Site;
let cache: string;

beforeAll(async () => {
  site = await startSite({ observatory: 'jwst', source: REAL_CACHE, contexts: { latest: CONTEXT, edit: CONTEXT, versions: 'jwst_0526.pmap' } });
  await site.db.models.BuildContext.create({ calver: '1.15.0', context: 'jwst_0540.pmap', description: 'build 11.0', username: 'test' });
  cache = path.join(site.work, 'client-cache');
});
afterAll(async () => {
  await site?.close();
});

it('crds sync --contexts jwst_0541.pmap fetches every mapping of the context byte for byte', async () => {
  const r = await crds(site, cache, ['sync', '--contexts', CONTEXT]);
  expect(r.stderr).toMatch(/(^|\s)0 errors/m);
  expect(r.status).toBe(0);
  const closure = new MappingStore(SOURCE_MAPPINGS).loadContext(CONTEXT).mappingNames().sort();
  const got = fs.readdirSync(path.join(cache, 'mappings', 'jwst')).sort();
  expect(got).toEqual(closure);
  for (const name of got) expect(sha1(path.join(cache, 'mappings', 'jwst', name))).toBe(sha1(path.join(SOURCE_MAPPINGS, name)));
  const check = await crds(site, cache, ['sync', '--contexts', CONTEXT, '--check-files', '--check-sha1sum']);
  expect(check.stderr).toMatch(/(^|\s)0 errors/m);
});

it('crds.client.get_best_references equals the client\'s own local answer on a few hundred JWST headers', async () => {
  const summary = await remoteVsLocal(site, cache, CONTEXT);
  const { count } = summary;
  expect(summary.no_json_form).toBeLessThan(count * 0.05);
  expect(summary.same).toBeGreaterThan(count * 0.8);
});

it('crds list --status without JWST calibration software falls back to the latest context', async () => {
  const r = await crds(site, cache, ['list', '--status']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/Effective Context = 'jwst_0541\.pmap'/);
});

it('serves build, versions and date-based contexts', async () => {
  expect(await site.rpc('get_build_context', 'jwst', '1.15.0')).toBe('jwst_0540.pmap');
  expect(await site.rpc('get_build_context', 'jwst', '1.15.3')).toBe('jwst_0540.pmap'); // closest earlier patch
  expect((await site.rpcEnvelope('get_build_context', ['jwst', '1.16.0'])).error?.name).toBe('UnknownContextError');
  expect(await site.rpc('get_default_context', 'jwst', 'versions')).toBe('jwst_0526.pmap');
  expect(await site.rpc('get_context_by_date', 'jwst-miri-latest')).toBe(new MappingStore(SOURCE_MAPPINGS).loadContext(CONTEXT).selections.get('miri'));
  const r = await crds(site, cache, ['list', '--resolve-contexts', '--contexts', 'jwst-edit']);
  expect(r.stdout.trim()).toBe(CONTEXT);
});

it('marks the files of bad_files.txt bad: rejected in file info and bad_files_list, their users blacklisted', async () => {
  const catalogued = new Set(fs.readdirSync(SOURCE_MAPPINGS));
  // Only files the site has are catalogued (the list also names references not in the cache).
  const listed = fs.readFileSync(path.join(REAL_CACHE, 'config', 'jwst', 'bad_files.txt'), 'utf8').split(/\s+/).filter((n) => catalogued.has(n)).sort();
  expect(listed.length).toBeGreaterThan(0);
  expect(site.report!.rejected).toEqual(listed);
  const info = await site.rpc<{ bad_files_list: string[] }>('get_server_info');
  expect(info.bad_files_list).toEqual(listed);
  const map = await site.rpc<Record<string, Record<string, string>>>('get_file_info_map', 'jwst', listed, ['rejected', 'blacklisted']);
  for (const name of listed) expect(map[name].rejected).toBe('true');
  const users = await site.db.models.CatalogFile.findAll({ where: { blacklisted: true } });
  expect(users.length).toBeGreaterThan(0);
  // Every blacklisted file names a rejected or blacklisted mapping.
  const bad = new Set([...listed, ...users.map((u) => u.name)]);
  const store = new MappingStore(path.join(site.fileCache, 'mappings', 'jwst'));
  for (const u of users) {
    const children = [...(store.load(u.name) as unknown as { selections: Map<string, string> }).selections.values()];
    expect(children.some((c) => bad.has(c))).toBe(true);
  }
});

it('get_context_history answers the real site\'s history from config/jwst/server_config (read here by Python\'s ast.literal_eval)', async () => {
  const py = await run(CRDS_PYTHON, ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(open(sys.argv[1]).read())["context_history"]))', path.join(REAL_CACHE, 'config', 'jwst', 'server_config')], {});
  expect(py.status).toBe(0);
  const present = new Set(fs.readdirSync(SOURCE_MAPPINGS));
  const expected = (JSON.parse(py.stdout) as [string, string, string][]).filter(([, context]) => present.has(context));
  expect(expected.length).toBeGreaterThan(100);
  expect(await site.rpc('get_context_history', 'jwst')).toEqual(expected);
  expect(site.report!.history.imported).toBe(expected.length);
});

describe('get_system_versions', () => {
  // Our copy of the JWST site has the CALVER rules (jwst_system_calver_0019.rmap maps
  // 0.13.x to jwst_system_calver_0010.json) but not their JSON references: one is made here
  // and imported like any delivered reference.
  const versions = { CAL_VER: '0.13.1', jwst: '0.13.1', crds: '7.2.0', asdf: '2.3.3', astropy: '3.2.1', numpy: '1.16.4', generated: `${process.pid}-${Date.now()}` };
  beforeAll(async () => {
    const { importCache } = await import('../../db/catalog-import');
    const source = path.join(site.work, 'calver-source');
    fs.mkdirSync(path.join(source, 'references', 'jwst'), { recursive: true });
    fs.writeFileSync(path.join(source, 'references', 'jwst', 'jwst_system_calver_0010.json'), JSON.stringify(versions, null, 2) + '\n');
    const report = await importCache(site.db, { source, fileCache: site.fileCache, observatory: 'jwst' });
    expect(report.references.added).toBe(1);
  });

  it('answers the CALVER reference the rules select for a version, by context and by the versions context', async () => {
    expect(await site.rpc('get_system_versions', '0.13.1', CONTEXT)).toEqual(versions);
    expect(await site.rpc('get_system_versions', '0.13.7', 'null')).toEqual(versions);
    const info = await site.rpc<Record<string, string>>('get_file_info', 'jwst', 'jwst_system_calver_0010.json');
    expect([info.instrument, info.filekind]).toEqual(['system', 'calver']);
  });

  it('the real client\'s crds.client.api.get_system_versions gets the same', async () => {
    const r = await run(CRDS_PYTHON, ['-c', 'import json, crds.client.api as a; print(json.dumps(dict(a.get_system_versions("0.13.1", None))))'], clientEnv(site, cache));
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(JSON.parse(r.stdout)).toEqual(versions);
  });

  it('refuses versions without a rule, malformed versions and CALVER files not yet available', async () => {
    const envelope = async (...params: unknown[]) => (await site.rpcEnvelope('get_system_versions', params)).error;
    expect((await envelope('99.1.0', CONTEXT))?.message).toMatch(/No CALVER reference for version '99\.1\.0'/);
    expect((await envelope('not a version', CONTEXT))?.message).toMatch(/Invalid version string/);
    // 0.12.x maps to jwst_system_calver_0009.json, which this site does not have.
    expect(await envelope('0.12.3', CONTEXT)).toMatchObject({ name: 'UnavailableFile', message: expect.stringMatching(/jwst_system_calver_0009\.json/) });
    expect((await envelope('0.13.1', 'jwst_9999.pmap'))?.message).toMatch(/jwst_9999\.pmap/);
  });
});
