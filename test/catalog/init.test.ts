// ops/init (ops/manage init) as a process, on MariaDB and on SQLite (the embedded default):
// it catalogues every demo file with its real size and sha1sum, derives instrument and
// filekind, sets the contexts, is idempotent, reports conflicts, and --if-empty is a no-op
// on a loaded catalog.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase } from '../../db';
import { REPO_ROOT, SHARED_DATA } from '../support/paths';
import { freshMysqlDatabase, freshSqliteDatabase, type TestDatabase } from '../support/services';
import { DEMO_CACHE } from '../jsonrpc/site';

jest.setTimeout(120_000);

function manage(args: string[], env: Record<string, string>): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(REPO_ROOT, 'ops', 'init'), args, { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => resolve({ status: code ?? -1, out }));
  });
}

const sha1 = (file: string) => createHash('sha1').update(fs.readFileSync(file)).digest('hex');

describe.each([
  ['MariaDB', () => freshMysqlDatabase('init')],
  ['SQLite', async () => freshSqliteDatabase()],
])('ops/init on %s', (_name, fresh) => {
  let target: TestDatabase;
  let work: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    target = await fresh();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-init-'));
    env = { CRDS_OBSERVATORY: 'hst', CRDS_USECASE: 'local', CRDS_DATABASE_URL: target.url, CRDS_FILE_CACHE: path.join(work, 'cache') };
  });
  afterAll(async () => {
    await target.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('imports the demo site, reporting what it added', async () => {
    const r = await manage(['--json'], env);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.out);
    const mappings = fs.readdirSync(path.join(DEMO_CACHE, 'mappings', 'hst'));
    const references = fs.readdirSync(path.join(DEMO_CACHE, 'references', 'hst'));
    expect(report.mappings).toEqual({ added: mappings.length, known: 0 });
    expect(report.references).toEqual({ added: references.length, known: 0 });
    expect(report.contexts.latest).toEqual({ context: 'hst_0002.pmap', changed: true });
    const db = await openDatabase(target.url);
    try {
      const rows = await db.models.CatalogFile.findAll();
      expect(rows.map((r) => r.name).sort()).toEqual([...mappings, ...references].sort());
      for (const row of rows) {
        const source = path.join(DEMO_CACHE, row.type === 'mapping' ? 'mappings' : 'references', 'hst', row.name);
        expect([row.size, row.sha1sum]).toEqual([fs.statSync(source).size, sha1(source)]);
        expect(fs.existsSync(path.join(work, 'cache', row.type === 'mapping' ? 'mappings' : 'references', 'hst', row.name))).toBe(true);
      }
      const dark = rows.find((r) => r.name === 'd1a1001cj_drk.fits')!;
      expect([dark.instrument, dark.filekind, dark.state, dark.pedigree]).toEqual(['acs', 'darkfile', 'latest', 'INFLIGHT 01/01/2016 01/01/2016']);
      expect(dark.useafterDate.toISOString()).toBe('2016-01-01T00:00:00.000Z');
      const rmap = rows.find((r) => r.name === 'hst_wfc3_flshfile_0001.rmap')!;
      expect([rmap.instrument, rmap.filekind, rmap.state]).toEqual(['wfc3', 'flshfile', 'latest']);
      // hst_acs_darkfile_0001.rmap is only in hst_0001: archived, not latest.
      expect(rows.find((r) => r.name === 'hst_acs_darkfile_0001.rmap')!.state).toBe('archived');
      expect(await db.models.AuditRecord.count({ where: { action: 'mass import' } })).toBe(rows.length);
    } finally {
      await db.close();
    }
  });

  it('is idempotent: a second run adds nothing and changes no context', async () => {
    const r = await manage(['--json'], env);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.mappings.added + report.references.added).toBe(0);
    expect(report.contexts.latest.changed).toBe(false);
    const empty = await manage(['--if-empty'], env);
    expect(empty.out).toMatch(/already holds files/);
  });

  it('reports a file whose name is catalogued with other contents, and changes nothing', async () => {
    const other = path.join(work, 'other');
    fs.cpSync(DEMO_CACHE, other, { recursive: true });
    fs.appendFileSync(path.join(other, 'references', 'hst', 'd1a1000aj_fls.fits'), Buffer.alloc(2880));
    const r = await manage([other], env);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/CONFLICT d1a1000aj_fls\.fits/);
    expect(sha1(path.join(work, 'cache', 'references', 'hst', 'd1a1000aj_fls.fits'))).toBe(sha1(path.join(DEMO_CACHE, 'references', 'hst', 'd1a1000aj_fls.fits')));
  });

  it('types a reference no rule names and whose name says nothing from its header, through the site\'s type specs', async () => {
    const free = path.join(work, 'free');
    fs.cpSync(DEMO_CACHE, free, { recursive: true });
    const real = path.join(SHARED_DATA, 'crds-cache', 'references', 'hst');
    // FILETYPE 'TWO-ZONE SPECTRAL EXTRACTION PARAMETERS TABLE' is longer than a type column.
    fs.copyFileSync(path.join(real, 'z1q2219el_2zx.fits'), path.join(free, 'references', 'hst', 'cos-two-zone.fits'));
    fs.copyFileSync(path.join(real, 'v8q14451j_idc.fits'), path.join(free, 'references', 'hst', 'acs-distortion.fits'));
    const r = await manage([free], { ...env, CRDS_SPECS_DIR: path.join(SHARED_DATA, 'crds-specs') });
    expect(r.status).toBe(0);
    const db = await openDatabase(target.url);
    try {
      const rows = await db.models.CatalogFile.findAll({ where: { name: ['cos-two-zone.fits', 'acs-distortion.fits'] }, order: [['name', 'ASC']] });
      expect(rows.map((row) => [row.name, row.instrument, row.filekind])).toEqual([
        ['acs-distortion.fits', 'acs', 'idctab'],
        ['cos-two-zone.fits', 'cos', 'twozxtab'],
      ]);
    } finally {
      await db.close();
    }
  });

  it('refuses a folder that is not a CRDS cache of the site\'s observatory', async () => {
    const r = await manage([path.join(work, 'nowhere')], env);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/no mappings\/hst folder/);
  });
});
