// A JWST ASDF reference submitted end to end on the real Temporal dev server, MariaDB with the
// real JWST rules (jwst_0541.pmap) and a worker: its instrument, type and USEAFTER come from
// its ASDF tree (META.INSTRUMENT.NAME, META.REFTYPE, META.USEAFTER; the upload's name says
// nothing), certify and its group check pass, the new rmap (META.* parkeys) selects it, and it
// is delivered with the new rules.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { loadConfig, type Config } from '../../config';
import { openDatabase, type Database } from '../../db';
import { defaultContexts } from '../../db/catalog';
import { importCache } from '../../db/catalog-import';
import { createUser } from '../../db/accounts';
import { archiveStep } from '../../ops/commands/archive-sim';
import { MappingStore } from '../../crds';
import { createSubmissionService, type SubmissionService } from '../../web/submissions';
import type { SubmissionProgress } from '../../workflows/submission-types';
import { SHARED_DATA, TESTDATA } from '../support/paths';
import { freshMysqlDatabase, freshNamespace, temporalAddress, uniqueName, type TestDatabase } from '../support/services';
import { lockIdOf, REAL_CACHE, startSmtp } from './harness';
import { acquireLock } from '../../db/locks';

jest.setTimeout(600_000);

const CONTEXT = 'jwst_0541.pmap';
const UPLOADED_AS = 'nircam_grismr_wavelengths.asdf'; // a name that says nothing: the header must
const SOURCE = path.join(TESTDATA, 'jwst', 'jwst_nircam_specwcs_0010.asdf');

let work: string;
let target: TestDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let config: Config;
let db: Database;
let client: Client;
let clientConnection: Connection;
let service: SubmissionService;
let worker: Worker;
let running: Promise<void>;
let connection: NativeConnection;

/**
 * The JWST type specs of ../shared/data with its `*_ld.tpn` files resolved: in the real crds
 * package they are symlinks to `*.tpn`, stored in the shared data as one-line files naming
 * their target, which the tpn reader (like the real one) cannot parse.
 */
function jwstSpecs(root: string): string {
  const from = path.join(SHARED_DATA, 'crds-specs', 'jwst');
  const to = path.join(root, 'jwst');
  fs.cpSync(from, to, { recursive: true });
  const tpns = path.join(to, 'tpns');
  for (const name of fs.readdirSync(tpns)) {
    const file = path.join(tpns, name);
    if (!fs.statSync(file).isFile()) continue;
    const text = fs.readFileSync(file, 'utf8').trim();
    if (/^[a-z0-9_]+\.tpn$/.test(text) && fs.existsSync(path.join(tpns, text))) {
      fs.chmodSync(file, 0o644);
      fs.copyFileSync(path.join(tpns, text), file);
    }
  }
  return root;
}

beforeAll(async () => {
  const address = temporalAddress();
  target = await freshMysqlDatabase('jwst');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-jwst-submission-'));
  smtp = await startSmtp();
  const namespace = await freshNamespace('jwst', address);
  const specsRoot = jwstSpecs(path.join(work, 'specs'));
  config = loadConfig({
    CRDS_OBSERVATORY: 'jwst',
    CRDS_USECASE: 'test',
    CRDS_DATABASE_URL: target.url,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    CRDS_TASK_QUEUE: uniqueName('jwst'),
    CRDS_FILE_CACHE: path.join(work, 'file_cache'),
    CRDS_SERVER_FILES: path.join(work, 'server_files'),
    CRDS_SITE_URL: 'http://127.0.0.1:8999',
    CRDS_SMTP_URL: smtp.url,
    CRDS_MAIL_FROM: 'crds@test.example',
    CRDS_MAIL_TO: 'datamng@test.example',
    CRDS_SPECS_DIR: specsRoot,
  });
  db = await openDatabase(config.databaseUrl);
  await importCache(db, { source: REAL_CACHE, fileCache: config.fileCache, observatory: 'jwst', contexts: { latest: CONTEXT, edit: CONTEXT } });
  await createUser(db, { username: 'alice', email: 'alice@test.example', password: 'alice-password' });
  clientConnection = await Connection.connect({ address });
  await clientConnection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      ['CrdsSubmitter', 'CrdsInstrument', 'CrdsObservatory'].map((n) => [n, proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  client = new Client({ connection: clientConnection, namespace });
  service = createSubmissionService({ client: async () => client, config, confirmTimeoutMs: 120_000, archivePollMs: 200 });
  connection = await NativeConnection.connect({ address });
  worker = await Worker.create({
    connection,
    namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({ db, config, specsRoot }),
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await clientConnection?.close();
  await db?.close();
  await smtp?.close();
  await target?.drop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function waitForProgress(resultsId: string, done: (p: SubmissionProgress) => boolean, timeoutMs = 180_000): Promise<SubmissionProgress> {
  const deadline = Date.now() + timeoutMs;
  let last: SubmissionProgress | undefined;
  for (;;) {
    try {
      last = await service.progress(resultsId);
    } catch {
      /* a query right after start can miss its deadline */
    }
    if (last && done(last)) return last;
    if (Date.now() > deadline) throw new Error(`submission ${resultsId} not there after ${timeoutMs} ms: ${JSON.stringify(last, null, 1)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('certifies, generates the rules for and delivers a JWST ASDF reference told apart by its META.* header', async () => {
  const ingest = path.join(config.serverFiles, 'ingest', 'alice');
  fs.mkdirSync(ingest, { recursive: true });
  fs.copyFileSync(SOURCE, path.join(ingest, UPLOADED_AS));
  fs.chmodSync(path.join(ingest, UPLOADED_AS), 0o644);
  const lockRow = await acquireLock(db, { name: 'nircam', username: 'alice' });
  const lock = { instrument: 'nircam', lockId: lockIdOf(lockRow), createdOn: lockRow.createdOn, expiresAt: lockRow.expiresAt.toISOString() };
  const { resultsId } = await service.startSubmission({
    kind: 'batch_submit_references',
    observatory: 'jwst',
    submitter: { username: 'alice', email: 'alice@test.example', isSuperuser: false },
    lock,
    ingestDir: ingest,
    files: [{ name: UPLOADED_AS, size: fs.statSync(path.join(ingest, UPLOADED_AS)).size }],
    pmapMode: 'pmap_edit',
    pmapName: CONTEXT,
    changeLevel: 'SEVERE',
    creator: 'Alice Test',
    description: 'NIRCam GRISMR specwcs',
    autoRename: true,
    compareOldReference: true,
    jpollKey: 'jwst-asdf-1',
  });
  const ready = await waitForProgress(resultsId, (x) => x.status === 'ready' || x.status === 'failed');
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
  const mappings = path.join(config.fileCache, 'mappings', 'jwst');
  const text = fs.readFileSync(path.join(mappings, rmap.name), 'utf8');
  expect(text).toContain(`'${f.name}'`);
  expect(text).toContain("'parkey' : (('META.INSTRUMENT.PUPIL', 'META.INSTRUMENT.MODULE', 'META.EXPOSURE.TYPE'),");
  expect(text).toMatch(new RegExp(`\\('GRISMR', 'A', 'NRC_GRISM'\\) : UseAfter\\(\\{[^}]*'2014-01-01 00:00:00' : '${f.name}'`));
  expect(rmap.differences!.join('\n')).toContain(`'${f.name}'`);
  // ... and the new context selects it for a NIRCam module A GRISMR exposure.
  const store = new MappingStore(mappings, { ignoreChecksum: 'warn' });
  const best = store.loadContext(ready.context.newContext!).getBestReferences(
    { 'META.INSTRUMENT.NAME': 'NIRCAM', 'META.EXPOSURE.TYPE': 'NRC_GRISM', 'META.INSTRUMENT.MODULE': 'A', 'META.INSTRUMENT.PUPIL': 'GRISMR', 'META.OBSERVATION.DATE': '2020-01-01', 'META.OBSERVATION.TIME': '00:00:00' },
    ['specwcs'],
  );
  expect(best.specwcs).toBe(f.name);

  // The catalog row comes from the same header.
  const row = (await db.models.CatalogFile.findOne({ where: { name: f.name! } }))!;
  expect(row).toMatchObject({ instrument: 'nircam', filekind: 'specwcs', state: 'uploaded', pedigree: 'ground', comment: 'GRISMR dispersion models' });
  expect(row.useafterDate.toISOString()).toBe('2014-01-01T00:00:00.000Z');

  await service.decide(resultsId, { action: 'confirm', username: 'alice', lock });
  const delivered = await waitForProgress(resultsId, (x) => !!x.delivery);
  const catalog = delivered.delivery!.catalog;
  expect(catalog).toBe('jwst_1.cat');
  const names = [f.name!, ...delivered.generated.map((g) => g.name)].sort();
  expect(fs.readFileSync(path.join(config.serverFiles, 'catalogs', catalog), 'utf8')).toBe(names.join('\n') + '\n');
  expect((await defaultContexts(db)).edit).toBe(delivered.context.newContext);
  for (let i = 0; i < 3; i++) archiveStep(path.join(config.serverFiles, 'deliveries'));
  await waitForProgress(resultsId, (x) => x.status === 'archived');
  expect(await db.models.CatalogFile.count({ where: { name: names, state: 'archived' } })).toBe(names.length);
});
