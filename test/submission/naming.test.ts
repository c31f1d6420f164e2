// Issue #10, new names (crds-protocol.md §4.8): on both dialects, a site that imported the
// real HST cache names its first new context after the newest imported one and its edit
// context advances to it; HST references get CDBS-style time-based names (uniqname); a
// reference under a free-form name is typed from its header (FILETYPE through the type specs)
// as the real library types it. The submission activities run as the worker runs them, on
// the real rules, without Temporal (they are plain functions).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSubmissionActivities } from '../../activities/submission';
import { loadConfig } from '../../config';
import { defaultContexts } from '../../db/catalog';
import { importCache } from '../../db/catalog-import';
import { assignCdbsName } from '../../db/submissions';
import { cdbsTimestamp, cdbsUniqueName } from '../../crds/uniqname';
import { describeOnBothDialects } from '../support/databases';
import { CRDS_PYTHON } from '../support/paths';
import { cosVariant, realCacheSubset, SPECS } from './harness';

jest.setTimeout(180_000);

const CDBS_1DX = /^[0-9a-z]{3}\d{4}[0-9a-t]l_1dx\.fits$/;

it('makes CDBS-style names as crds.hst.locate.generate_timestamp does', () => {
  // The example of crds/misc/uniqname.py and crds-rules.md §4.2.
  expect(cdbsUniqueName('acs', 'drk', '.fits', new Date('2018-05-11T17:39:58Z'))).toBe('25b1739tj_drk.fits');
  expect(cdbsTimestamp(new Date('2015-12-31T23:59:59Z'))).toBe('zcv2359t');
  expect(cdbsTimestamp(new Date('2016-01-01T00:00:01Z'))).toBe('01100000');
  expect(cdbsUniqueName('cos', '1dx', '.FITS', new Date('2025-10-09T08:07:06Z'))).toBe('9a90807' + '3l_1dx.fits');
  expect(() => cdbsUniqueName('miri', 'flat', '.fits', new Date())).toThrow(/no CDBS name character/);
});

it("gives the real library's generate_unique_name_core for the same instants", () => {
  const instants = ['1995-02-03T04:05:06Z', '2018-05-11T17:39:58Z', '2026-12-03T17:28:52Z', '2031-11-30T23:59:59Z'];
  const script = [
    'import sys, json, datetime',
    'from crds.hst import locate',
    'for s in json.loads(sys.argv[1]):',
    '    print(locate.generate_unique_name_core("cos", "xtractab", ".fits", datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")))',
  ].join('\n');
  const out = execFileSync(CRDS_PYTHON, ['-c', script, JSON.stringify(instants)], { encoding: 'utf8' }).trim().split('\n');
  expect(instants.map((t) => cdbsUniqueName('cos', '1dx', '.fits', new Date(t)))).toEqual(out);
});

let cache: string;
beforeAll(() => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-naming-cache-'));
  realCacheSubset(cache);
});
afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));

describeOnBothDialects('new names after an imported real cache on %s', 'naming', (open) => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-naming-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('follows the newest serials, advances the edit context, and names and types HST references as the original', async () => {
    const config = loadConfig({
      CRDS_OBSERVATORY: 'hst',
      CRDS_DATABASE_URL: open.url,
      CRDS_FILE_CACHE: path.join(work, 'file_cache'),
      CRDS_SERVER_FILES: path.join(work, 'server_files'),
      CRDS_SPECS_DIR: SPECS,
    });
    const { db } = open;
    await importCache(db, { source: cache, fileCache: config.fileCache, observatory: 'hst', contexts: { latest: 'hst_0729.pmap', edit: 'hst_0729.pmap' }, siteConfig: false });
    const highest = async (like: RegExp) =>
      Math.max(...(await db.models.CatalogFile.findAll({ attributes: ['name'] })).flatMap((r) => (like.exec(r.name) ? [Number(like.exec(r.name)![1])] : [])));
    const [pmaps, cosImaps, xtractabs] = [await highest(/^hst_(\d+)\.pmap$/), await highest(/^hst_cos_(\d+)\.imap$/), await highest(/^hst_cos_xtractab_(\d+)\.rmap$/)];
    expect(pmaps).toBe(729);

    // A COS 1dx table under a free-form name: typed by its FILETYPE ('1-D EXTRACTION PARAMETERS TABLE').
    const ingest = path.join(config.serverFiles, 'ingest', 'alice');
    fs.mkdirSync(ingest, { recursive: true });
    fs.writeFileSync(path.join(ingest, 'cos-extraction-table.fits'), cosVariant('*'));
    const acts = createSubmissionActivities({ db, config, specsRoot: SPECS });
    const submissionId = `naming-${db.dialect}`;
    const [file] = await acts.ingestSubmissionFiles({ submissionId, observatory: 'hst', username: 'alice' });
    const certified = await acts.certifySubmissionFile({ submissionId, observatory: 'hst', uploadedAs: file!.uploadedAs, context: 'hst_0729.pmap', compareOldReference: false });
    expect(certified).toMatchObject({ errors: 0, instrument: 'cos', filekind: 'xtractab' });
    const before = Date.now();
    const generated = await acts.generateSubmissionRules({
      submissionId, observatory: 'hst', username: 'alice', context: 'hst_0729.pmap',
      files: [{ ...file!, instrument: certified.instrument, filekind: certified.filekind }],
      autoRename: true, changeLevel: 'SEVERE', creator: 'Alice Test', description: 'naming test',
    });
    const serial = (n: number) => String(n + 1).padStart(4, '0');
    // At submit only the rmap is made; the imaps and the pmap come at confirm (below).
    expect(generated.generated.map((g) => g.name)).toEqual([`hst_cos_xtractab_${serial(xtractabs)}.rmap`]);
    // A CDBS-style name of the time it was drawn (to the two-second step, or the next step when that one was taken).
    const name = generated.files[0]!.name!;
    expect(name).toMatch(CDBS_1DX);
    expect(name >= cdbsUniqueName('cos', '1dx', '.fits', new Date(before)) && name <= cdbsUniqueName('cos', '1dx', '.fits', new Date(Date.now() + 2000))).toBe(true);

    // Another submission drawing in the same two seconds gets the next name, never this one.
    const at = new Date(before);
    const [a, b] = [await assignCdbsName(db, 'other-1', 'ref:x.fits', { instrument: 'cos', suffix: '1dx', ext: '.fits' }, at, new Set()),
      await assignCdbsName(db, 'other-2', 'ref:x.fits', { instrument: 'cos', suffix: '1dx', ext: '.fits' }, at, new Set())];
    expect(new Set([a, b, name]).size).toBe(3);

    // Confirm makes the imap and the pmap after the newest serials and advances the edit context to the new pmap.
    const confirmed = await acts.confirmSubmission({
      submissionId, observatory: 'hst', username: 'alice', instrument: 'cos', lockId: '', pmapMode: 'pmap_edit',
      rmaps: generated.generated.map((g) => ({ name: g.name, derivedFrom: g.derivedFrom })),
      description: 'naming test', changeLevel: 'SEVERE', creator: 'Alice Test', references: [name], uploadedAs: [file!.uploadedAs],
    });
    expect(confirmed.newContext).toBe(`hst_${serial(pmaps)}.pmap`);
    expect(confirmed.generated.map((g) => g.name).sort()).toEqual([`hst_${serial(pmaps)}.pmap`, `hst_cos_${serial(cosImaps)}.imap`]);
    expect((await defaultContexts(db)).edit).toBe(confirmed.newContext);
    expect(fs.readFileSync(path.join(config.fileCache, 'mappings', 'hst', `hst_cos_xtractab_${serial(xtractabs)}.rmap`), 'utf8')).toContain(`'${name}'`);
  });
});
