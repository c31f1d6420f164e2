// The demo site's own type specs (config/demo/specs): `ops/manage certify` uses them by
// default on the local site (config().specsDir), and they accept the demo references and
// rules while still rejecting what the constraints forbid.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../../config';
import { certifyFile, certifyFiles } from '../../crds/certify';
import { demoFits } from '../../config/demo/generate';
import { REPO_ROOT } from '../support/paths';

const DEMO = path.join(REPO_ROOT, 'config', 'demo', 'cache');
const REFS = path.join(DEMO, 'references', 'hst');
const MAPPINGS = path.join(DEMO, 'mappings');

const specsRoot = loadConfig({ CRDS_USECASE: 'local' }).specsDir!;

function keysOf(file: string, context?: string): string[] {
  const r = certifyFile(file, { specsRoot, mappingsDir: context ? MAPPINGS : undefined, context });
  return r.findings.filter((f) => f.level !== 'INFO').map((f) => `${f.level} ${f.message}`);
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-certify-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A demo-style reference with some header values changed. */
function variant(name: string, change: Partial<Parameters<typeof demoFits>[0]>): string {
  const base = { name, instrument: 'ACS' as const, filetype: 'DARK', detector: 'WFC', ccdamp: 'ABCD', useafter: '2002-03-01 00:00:00', pedigree: 'GROUND', descrip: 'test' };
  const file = path.join(tmp, name);
  fs.writeFileSync(file, demoFits({ ...base, ...change }));
  return file;
}

describe('certify with the demo site specs', () => {
  it('is the local site default and names the demo folder', () => {
    expect(specsRoot).toBe(path.join(REPO_ROOT, 'config', 'demo', 'specs'));
    expect(fs.existsSync(path.join(specsRoot, 'hst', 'specs', 'combined_specs.json'))).toBe(true);
  });

  it('passes every demo reference and mapping', () => {
    const files = [...fs.readdirSync(REFS).map((f) => path.join(REFS, f)), ...fs.readdirSync(path.join(MAPPINGS, 'hst')).map((f) => path.join(MAPPINGS, 'hst', f))];
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const f of files) expect([path.basename(f), keysOf(f, 'hst_0001.pmap')]).toEqual([path.basename(f), []]);
  });

  it('rejects values the demo constraints forbid, and missing required keywords', () => {
    expect(keysOf(variant('t1a1000aj_drk.fits', { detector: 'SBC' })).join('\n')).toMatch(/ERROR Checking 'DETECTOR'/);
    expect(keysOf(variant('t1a1000bj_drk.fits', { filetype: 'FLAT' })).join('\n')).toMatch(/ERROR Checking 'FILETYPE'/);
    expect(keysOf(variant('t1a1000cj_drk.fits', { pedigree: 'SOMETIME' })).join('\n')).toMatch(/ERROR Checking 'PEDIGREE'/);
    expect(keysOf(variant('t1a1000dj_drk.fits', { useafter: '2002-02-30 00:00:00' })).join('\n')).toMatch(/ERROR .*USEAFTER/);
  });

  it('rejects an rmap whose match values the demo _ld constraints forbid', () => {
    const text = fs.readFileSync(path.join(MAPPINGS, 'hst', 'hst_acs_darkfile_0001.rmap'), 'utf8').replace("('HRC', 'C')", "('SBC', 'C')");
    const file = path.join(tmp, 'hst_acs_darkfile_0001.rmap');
    fs.writeFileSync(file, text);
    expect(keysOf(file).join('\n')).toMatch(/ERROR Match\('DETECTOR', 'CCDAMP'\) : \('SBC', 'C'\) :  parameter='DETECTOR' value='SBC' is not in/);
  });

  it('group check: the references are trial-inserted into their rmaps of the context', () => {
    const one = variant('t1a1001aj_drk.fits', { detector: 'HRC', ccdamp: 'C', useafter: '2010-01-01 00:00:00' });
    const ok = certifyFiles([one], { specsRoot, mappingsDir: MAPPINGS, context: 'hst_0001.pmap' });
    expect(ok.map((r) => [path.basename(r.file), r.errors])).toEqual([
      ['t1a1001aj_drk.fits', 0],
      ['hst_acs_darkfile_0001.rmap', 0],
    ]);
    expect(ok[1].group?.references).toEqual([one]);
    // two submitted files for one match case: each would replace the other
    const twin = variant('t1a1001bj_drk.fits', { detector: 'HRC', ccdamp: 'C', useafter: '2010-01-01 00:00:00' });
    const both = certifyFiles([one, twin], { specsRoot, mappingsDir: MAPPINGS, context: 'hst_0001.pmap' });
    expect(both.slice(0, 2).map((r) => r.errors)).toEqual([0, 0]);
    expect(both[2].findings.filter((f) => f.level === 'ERROR').map((f) => f.message)).toEqual([
      expect.stringMatching(/^Both 't1a1001bj_drk.fits' and 't1a1001aj_drk.fits' identically match case/),
    ]);
    // no group check when a file fails, or when asked not to
    const bad = variant('t1a1001cj_drk.fits', { detector: 'SBC' });
    expect(certifyFiles([one, twin, bad], { specsRoot, mappingsDir: MAPPINGS, context: 'hst_0001.pmap' }).length).toBe(3);
    expect(certifyFiles([one, twin], { specsRoot, mappingsDir: MAPPINGS, context: 'hst_0001.pmap', checkRmapUpdates: false }).length).toBe(2);
  });

  it('ops/manage certify works on the demo site without --specs', () => {
    const env = { ...process.env, CRDS_USECASE: 'local', CRDS_SPECS_DIR: '' };
    const ok = spawnSync(path.join(REPO_ROOT, 'ops', 'manage'), ['certify', path.join(REFS, 'd1a1001aj_drk.fits')], { env, encoding: 'utf8' });
    expect(ok.stdout).toMatch(/0 errors/);
    expect(ok.status).toBe(0);
    const bad = spawnSync(path.join(REPO_ROOT, 'ops', 'manage'), ['certify', variant('t1a1000ej_drk.fits', { detector: 'SBC' })], { env, encoding: 'utf8' });
    expect(bad.stdout).toMatch(/ERROR - In 't1a1000ej_drk.fits' : Checking 'DETECTOR'/);
    expect(bad.status).toBe(1);
  }, 60_000);
});
