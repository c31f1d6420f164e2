// A JWST ASDF reference submitted end to end on the real Temporal dev server, MariaDB with the
// real JWST rules (jwst_0541.pmap) and a worker: its instrument, type and USEAFTER come from
// its ASDF tree (META.INSTRUMENT.NAME, META.REFTYPE, META.USEAFTER; the upload's name says
// nothing), certify and its group check pass, the new rmap (META.* parkeys) selects it, and it
// is delivered with the new rules. The shared specs are used as they are: their *_ld.tpn
// link files are followed by the tpn loader.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultContexts } from '../../db/catalog';
import { archiveStep } from '../../ops/commands/archive-sim';
import { MappingStore } from '../../crds';
import { TESTDATA } from '../support/paths';
import { lockFor, request, startSubmissionSite, startWorkerInProcess, waitForProgress, type SubmissionSite } from './harness';

jest.setTimeout(600_000);

const CONTEXT = 'jwst_0541.pmap';
const UPLOADED_AS = 'nircam_grismr_wavelengths.asdf'; // a name that says nothing: the header must
const SOURCE = path.join(TESTDATA, 'jwst', 'jwst_nircam_specwcs_0010.asdf');

let site: SubmissionSite;
let worker: { close(): Promise<void> } | undefined;

beforeAll(async () => {
  site = await startSubmissionSite('jwst', { observatory: 'jwst', context: CONTEXT });
  worker = await startWorkerInProcess(site);
});

afterAll(async () => {
  await worker?.close();
  await site?.close();
});

it('certifies, generates the rules for and delivers a JWST ASDF reference told apart by its META.* header', async () => {
  const ingest = site.ingest('alice');
  fs.mkdirSync(ingest, { recursive: true });
  fs.copyFileSync(SOURCE, path.join(ingest, UPLOADED_AS));
  fs.chmodSync(path.join(ingest, UPLOADED_AS), 0o644);
  const lock = await lockFor(site, 'alice', 'nircam');
  const { resultsId } = await site.service.startSubmission(request(site, 'alice', lock, 'jwst-asdf-1', 'NIRCam GRISMR specwcs'));
  const ready = await waitForProgress(site, resultsId, (x) => x.status === 'ready' || x.status === 'failed', 180_000);
  expect({ status: ready.status, reason: ready.reason }).toEqual({ status: 'ready', reason: undefined });

  // Told apart by its header: META.INSTRUMENT.NAME = NIRCAM, META.REFTYPE = specwcs.
  const f = ready.files[0]!;
  expect(f).toMatchObject({ uploadedAs: UPLOADED_AS, instrument: 'nircam', filekind: 'specwcs' });
  expect(f.certify!.errors).toBe(0);
  expect(f.name).toMatch(/^jwst_nircam_specwcs_\d{4}\.asdf$/);
  expect(ready.groupCheck).toEqual([expect.objectContaining({ rmap: 'jwst_nircam_specwcs_0008.rmap', references: [UPLOADED_AS], errors: 0 })]);

  // The new rmap of the context holds it under its META.* match values and USEAFTER.
  const rmap = ready.generated.find((g) => g.name.endsWith('.rmap'))!;
  expect(rmap.derivedFrom).toBe('jwst_nircam_specwcs_0008.rmap');
  const mappings = path.join(site.config.fileCache, 'mappings', 'jwst');
  const text = fs.readFileSync(path.join(mappings, rmap.name), 'utf8');
  expect(text).toContain(`'${f.name}'`);
  expect(text).toContain("'parkey' : (('META.INSTRUMENT.PUPIL', 'META.INSTRUMENT.MODULE', 'META.EXPOSURE.TYPE'),");
  expect(text).toMatch(new RegExp(`\\('GRISMR', 'A', 'NRC_GRISM'\\) : UseAfter\\(\\{[^}]*'2014-01-01 00:00:00' : '${f.name}'`));
  expect(rmap.differences!.join('\n')).toContain(`'${f.name}'`);

  // The catalog row comes from the same header.
  const row = (await site.db.models.CatalogFile.findOne({ where: { name: f.name! } }))!;
  expect(row).toMatchObject({ instrument: 'nircam', filekind: 'specwcs', state: 'uploaded', pedigree: 'ground', comment: 'GRISMR dispersion models' });
  expect(row.useafterDate.toISOString()).toBe('2014-01-01T00:00:00.000Z');

  await site.service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  const delivered = await waitForProgress(site, resultsId, (x) => !!x.delivery, 180_000);
  // The new context, made at confirm, selects it for a NIRCam module A GRISMR exposure.
  const store = new MappingStore(mappings, { ignoreChecksum: 'warn' });
  const best = store.loadContext(delivered.context.newContext!).getBestReferences(
    { 'META.INSTRUMENT.NAME': 'NIRCAM', 'META.EXPOSURE.TYPE': 'NRC_GRISM', 'META.INSTRUMENT.MODULE': 'A', 'META.INSTRUMENT.PUPIL': 'GRISMR', 'META.OBSERVATION.DATE': '2020-01-01', 'META.OBSERVATION.TIME': '00:00:00' },
    ['specwcs'],
  );
  expect(best.specwcs).toBe(f.name);
  const catalog = delivered.delivery!.catalog;
  expect(catalog).toBe('jwst_1.cat');
  const names = [f.name!, ...delivered.generated.map((g) => g.name)].sort();
  expect(fs.readFileSync(path.join(site.config.serverFiles, 'catalogs', catalog), 'utf8')).toBe(names.join('\n') + '\n');
  expect((await defaultContexts(site.db)).edit).toBe(delivered.context.newContext);
  for (let i = 0; i < 3; i++) archiveStep(path.join(site.config.serverFiles, 'deliveries'));
  await waitForProgress(site, resultsId, (x) => x.status === 'archived', 180_000);
  expect(await site.db.models.CatalogFile.count({ where: { name: names, state: 'archived' } })).toBe(names.length);
});
