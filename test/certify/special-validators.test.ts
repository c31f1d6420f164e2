// The special (&-type) validators: SYNPHOT graph, lookup, throughput and thermal checks,
// KernelUnity, IsomorphicFitsVer, FileExists; the context's rmap lookup failure; the ASDF
// Standard requirement. Real files of the shared test data are read in place (certified under
// the operational HST context as the real tool would); edge cases are small FITS files written
// to a temporary folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certifyFile, FitsFile } from '../../crds/certify';
import { versionSatisfies } from '../../crds/certify/reference';
import { parametrizationKeyword, synphotPathPrefix } from '../../crds/certify/synphot';
import { CheckError, makeValidator, type Finding, type ValidatorContext } from '../../crds/certify/validators';
import type { TpnInfo } from '../../crds/certify/tpn';
import { MappingStore } from '../../crds/mappings';
import { MAPPINGS, SHARED_DATA, TESTDATA } from '../support/paths';
import { fitsBytes, type Hdu } from './fits-writer';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
const HST = path.join(TESTDATA, 'hst');
const store = new MappingStore(MAPPINGS, { ignoreChecksum: 'warn' });
const CONTEXT = 'hst_0729.pmap';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'special-validators-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function certified(file: string): { keys: string[]; errors: number } {
  const r = certifyFile(file, { observatory: 'hst', specsRoot: SPECS, store, context: CONTEXT });
  return { keys: r.findings.filter((f) => f.level !== 'INFO').map((f) => `${f.level} ${f.message}`), errors: r.errors };
}

/** Run one validator on a synthetic FITS file; its findings, or the CheckError it raised. */
function runValidator(info: TpnInfo, name: string, primary: Record<string, string | number | boolean>, extensions: Hdu[], header: Map<string, string> = new Map()): Finding[] {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, fitsBytes(primary, extensions));
  const findings: Finding[] = [];
  const fits = FitsFile.open(file);
  const ctx: ValidatorContext = {
    log: {
      error: (m) => findings.push({ level: 'ERROR', message: m }),
      warning: (m) => findings.push({ level: 'WARNING', message: m }),
      info: () => undefined,
    },
    file: { path: file, fits },
  };
  try {
    makeValidator(info).check(header, ctx);
  } catch (e) {
    if (!(e instanceof CheckError)) throw e;
    findings.push({ level: 'ERROR', message: `raised: ${e.message}` });
  } finally {
    fits.close();
  }
  return findings;
}

const ext1 = (special: string): TpnInfo => ({ name: 'EXT1', keytype: 'D', datatype: 'X', presence: 'R', values: [`&${special}`] });

describe('SYNPHOT graph (&SYNPHOT_GRAPH)', () => {
  const graph = (inn: number[], out: number[]): Hdu[] => [
    { table: [{ name: 'COMPNAME', values: inn.map((_, i) => `c${i}`) }, { name: 'INNODE', ints: inn }, { name: 'OUTNODE', ints: out }] },
  ];
  it('accepts a graph whose rows are all reachable from node 1, each pointing forward', () => {
    expect(runValidator(ext1('SYNPHOT_GRAPH'), 'g_tmg.fits', {}, graph([1, 1, 2, 3], [2, 3, 4, 4]))).toEqual([]);
  });
  it('reports rows not reachable from node 1, by index', () => {
    expect(runValidator(ext1('SYNPHOT_GRAPH'), 'g_tmg.fits', {}, graph([1, 2, 5, 6], [2, 3, 6, 7]))).toEqual([
      { level: 'ERROR', message: 'TMG contains disconnected rows at indexes: 2, 3' },
    ]);
  });
  it('reports a row pointing backwards (a cycle) without looping', () => {
    expect(runValidator(ext1('SYNPHOT_GRAPH'), 'g_tmg.fits', {}, graph([1, 2, 3], [2, 3, 1]))).toEqual([{ level: 'ERROR', message: 'TMG contains rows with INNODE >= OUTNODE.' }]);
  });
  it('finds the disconnected row of the real test graph', () => {
    expect(certified(path.join(HST, 'hst_synphot_tmg_disconnected.fits')).keys).toContain('ERROR TMG contains disconnected rows at indexes: 19');
    expect(certified(path.join(HST, 'hst_synphot_tmg_connected.fits')).errors).toBe(0);
  });
});

describe('SYNPHOT lookup tables (&SYNPHOT_LOOKUP)', () => {
  it('derives path prefixes and parametrization keywords from component names', () => {
    expect(synphotPathPrefix('acs_f555w')).toBe('cracscomp$');
    expect(synphotPathPrefix('wfpc2_f555w')).toBe('crwfpc2comp$');
    expect(synphotPathPrefix('nic2_f110w')).toBe('crnicmoscomp$');
    expect(synphotPathPrefix('hst_ota')).toBe('crotacomp$');
    expect(synphotPathPrefix('johnson_v')).toBe('crnonhstcomp$');
    expect(parametrizationKeyword('wfc3_uvis_f469nf2_mjd')).toBe('mjd#');
    expect(parametrizationKeyword('acs_fr388n')).toBe('fr388n#');
    expect(parametrizationKeyword('wfpc2_contpc1')).toBe('cont#');
    expect(parametrizationKeyword('wfpc2_lrf')).toBe('wave#');
    expect(parametrizationKeyword('acs_f555w')).toBeUndefined();
  });
  it('reports FILENAME values with a wrong prefix or a wrong parametrization, by row', () => {
    const table: Hdu[] = [
      {
        table: [
          { name: 'COMPNAME', values: ['acs_f555w', 'acs_f555w', 'acs_f555w_mjd', 'acs_f555w', 'acs_fr388n'] },
          { name: 'FILENAME', values: ['cracscomp$acs_f555w_005_syn.fits', 'crwfc3comp$x_syn.fits', 'cracscomp$x_syn.fits', 'cracscomp$x_syn.fits[mjd#]', 'cracscomp$y_syn.fits[FR388N#]'] },
        ],
      },
    ];
    expect(runValidator(ext1('SYNPHOT_LOOKUP'), 'l_tmc.fits', {}, table).map((f) => f.message)).toEqual([
      'Malformed FILENAME value at index 1 (missing or invalid path prefix)',
      'Malformed FILENAME value at index 2 (should be parametrized)',
      'Malformed FILENAME value at index 3 (should not be parametrized)',
    ]);
  });
  it('finds the malformed row of the real test lookup table', () => {
    expect(certified(path.join(HST, 'hst_synphot_tmc_bad_filename.fits')).keys).toContain('ERROR Malformed FILENAME value at index 3 (missing or invalid path prefix)');
  });
});

describe('SYNPHOT throughput and thermal tables', () => {
  it('warns when the first or last THROUGHPUT / MJD# value is not 0, and needs 2 parametrized columns', () => {
    const table: Hdu[] = [{ table: [{ name: 'WAVELENGTH', floats: [1, 2, 3] }, { name: 'THROUGHPUT', floats: [0.5, 0.2, 0] }, { name: 'MJD#57000', floats: [0, 0.1, 0.3] }] }];
    const f = runValidator(ext1('SYNPHOT_THROUGHPUT'), 'acs_f555w_mjd_001_syn.fits', { COMPNAME: 'acs_f555w_mjd' }, table, new Map([['COMPNAME', 'acs_f555w_mjd']]));
    expect(f).toEqual([
      { level: 'WARNING', message: "First value of column 'THROUGHPUT' is not 0.0" },
      { level: 'WARNING', message: "Last value of column 'MJD#57000' is not 0.0" },
      { level: 'ERROR', message: 'Table is parametrized by mjd#, but includes only 1 columns with that prefix.' },
    ]);
  });
  it('requires the NAME_###_syn.fits / _th.fits form and a COMPNAME', () => {
    const table: Hdu[] = [{ table: [{ name: 'WAVELENGTH', floats: [1, 2] }, { name: 'THROUGHPUT', floats: [0, 0] }] }];
    expect(runValidator(ext1('SYNPHOT_THROUGHPUT'), 'acs_f555w_syn.fits', { COMPNAME: 'acs_f555w' }, table, new Map([['COMPNAME', 'acs_f555w']]))).toEqual([
      { level: 'ERROR', message: 'Invalid filename: must end in _###_syn.fits' },
    ]);
    expect(runValidator(ext1('SYNPHOT_THERMAL'), 'acs_f555w_001_th.fits', {}, table)).toEqual([{ level: 'ERROR', message: 'Header missing COMPNAME, unable to certify filename' }]);
  });
  it("requires a version above the context's file for the component (real test files under hst_0729)", () => {
    expect(certified(path.join(HST, 'wfc3_ir_g141_src_003_th.fits')).keys).toContain('ERROR New filename version (003) must exceed previous version (003)');
    expect(certified(path.join(HST, 'wfc3_ir_g141_src_999_th.fits')).errors).toBe(0);
    const win = certified(path.join(HST, 'synphot_root', 'comp', 'acs', 'acs_hrc_win_005_syn.fits')).keys;
    expect(win).toEqual(
      expect.arrayContaining([
        "WARNING First value of column 'THROUGHPUT' is not 0.0",
        "WARNING Last value of column 'THROUGHPUT' is not 0.0",
        'ERROR New filename version (005) must exceed previous version (005)',
      ]),
    );
  });
});

describe('KernelUnity, IsomorphicFitsVer, FileExists', () => {
  const kernel = (pixels: number[], shape = [3, 3]): Finding[] =>
    runValidator({ name: 'SCI', keytype: 'D', datatype: 'X', presence: 'R', values: ['&KernelUnity'] }, 'ipc.fits', {}, [{ name: 'SCI', image: { shape, pixels } }]);
  it('accepts kernels that sum to 1 with a center pixel >= 1', () => {
    expect(kernel([0, -0.1, 0, -0.1, 1.4, -0.1, 0, -0.1, 0])).toEqual([]);
    // four 3x3 kernels: DATA (3, 3, 2, 2), one kernel per trailing (j, i)
    const four: number[] = [];
    for (let q = 0; q < 3; q++) for (let p = 0; p < 3; p++) for (let k = 0; k < 4; k++) four.push(q === 1 && p === 1 ? 1 : 0);
    expect(kernel(four, [3, 3, 2, 2])).toEqual([]);
  });
  it('fails a kernel whose sum is off by more than 1e-6, warns about a small center pixel', () => {
    expect(kernel([0, 0, 0, 0, 1.1, 0, 0, 0, 0])[0].message).toMatch(/^raised: Kernel sum 1\.1\d* is not 1\+-1e-6 for kernel #0/);
    const f = kernel([0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2]);
    expect(f[0]).toEqual({ level: 'WARNING', message: 'Possible bad IPC Kernel:  One or more kernel center pixel value(s) too small, should be >= 1.0' });
  });
  it('IsomorphicFitsVer: every version of the array has the first one\'s shape; the maximum version as the variant says', () => {
    const iso = (values: string, hdus: Hdu[]): Finding[] => runValidator({ name: 'PS', keytype: 'A', datatype: 'X', presence: 'R', values: [values] }, 'pathloss.fits', {}, hdus);
    const ps = (ver: number, shape: number[]): Hdu => ({ name: 'PS', ver, image: { shape, pixels: new Array(shape.reduce((a, b) => a * b, 1)).fill(0) } });
    expect(iso('&IsomorphicFitsVer', [ps(1, [2, 3]), ps(2, [2, 3])])).toEqual([]);
    expect(iso('&IsomorphicFitsVer', [ps(1, [2, 3]), ps(2, [3, 3])])[0].message).toBe("raised: Shape mismtatch for ('PS', 2)relative to('PS', 1). Expected (2, 3) but got (3, 3).");
    expect(iso('&IsomorphicFitsVer4', [ps(1, [2]), ps(2, [2])])[0].message).toBe("raised: Bad maximum HDU ver for 'PS'. Expected 4, got 2.");
  });
  it('FileExists: the named file (IRAF prefix and [..] removed) must be in the CRDS cache', () => {
    const info: TpnInfo = { name: 'FILENAME', keytype: 'H', datatype: 'C', presence: 'R', values: ['&FILEEXISTS'] };
    const present = path.join(tmp, 'there_syn.fits');
    fs.writeFileSync(present, '');
    const check = (value: string): string[] => {
      const out: string[] = [];
      try {
        makeValidator(info).check(new Map([['FILENAME', value]]), { log: { error: () => undefined, warning: () => undefined, info: () => undefined }, file: { path: 'x.fits', locateFile: (n) => path.join(tmp, n) } });
      } catch (e) {
        out.push((e as Error).message);
      }
      return out;
    };
    expect(check('cracscomp$there_syn.fits[mjd#]')).toEqual([]);
    expect(check('cracscomp$gone_syn.fits')).toEqual(["Required CRDS file 'gone_syn.fits' does not exist in CRDS cache."]);
  });
  it('an unknown &-type is refused as the real tool does', () => {
    expect(() => makeValidator({ name: 'X', keytype: 'H', datatype: 'C', presence: 'R', values: ['&NO_SUCH'] })).toThrow('Unrecognized validator &NO_SUCH, expected class NoSuchValidator');
  });
});

describe('context lookups', () => {
  it('a type the context lacks fails the FITS file (the project check) and is warned in the table comparison', () => {
    const { keys, errors } = certified(path.join(HST, 'hst_synphot_failing_obs.fits'));
    expect(keys).toEqual(
      expect.arrayContaining(["WARNING Failed resolving comparison reference for table checks : Unknown reference type 'obsmodes'", "ERROR Validation error : Unknown reference type 'obsmodes'"]),
    );
    expect(errors).toBe(1);
  });
  it('ASDF Standard versions against requirement specifiers', () => {
    expect(versionSatisfies('1.5.0', '')).toBe(true);
    expect(versionSatisfies('1.5.0', '>=1.6.0')).toBe(false);
    expect(versionSatisfies('1.6.0', '>=1.6.0, <2')).toBe(true);
    expect(versionSatisfies('1.6.0', '~=1.5')).toBe(true);
    expect(versionSatisfies('2.0.0', '~=1.5')).toBe(false);
    expect(versionSatisfies('1.6.0', '==1.6.*')).toBe(true);
    expect(versionSatisfies('1.6.0', '!=1.6.0')).toBe(false);
    expect(versionSatisfies('1.6.0.dev1', '')).toBe(false);
  });
});

describe('comparison reference for table checks (find_old_reference)', () => {
  it('a changed match key (SYNPHOT comment parkeys) is a rule deleted and one added, not a replacement: no comparison', () => {
    const { keys } = certified(path.join(HST, 'wfc3_ir_g141_src_999_th.fits'));
    expect(keys).toContain("WARNING No comparison reference for 'wfc3_ir_g141_src_999_th.fits' in context 'hst_0729.pmap'. Skipping tables comparison.");
    expect(keys.some((k) => k.includes('Failed to obtain reference comparison file'))).toBe(false);
  });
  it('a replaced reference the catalog cannot provide: warned, then no comparison', () => {
    const { keys } = certified(path.join(HST, 'hst_synphot_tmc_passes.fits'));
    expect(keys.some((k) => /^WARNING Failed to obtain reference comparison file '35m1824cm_tmc.fits'/.test(k))).toBe(true);
    expect(keys).toContain("WARNING No comparison reference for 'hst_synphot_tmc_passes.fits' in context 'hst_0729.pmap'. Skipping tables comparison.");
  });
  it("the trial insertion checks values against the type's _ld.tpn (a link file in the shared specs) as the real one does", () => {
    const findings = (name: string): string[] =>
      certifyFile(path.join(TESTDATA, 'jwst', name), { observatory: 'jwst', specsRoot: SPECS, store, context: 'jwst_0541.pmap' }).findings.map((f) => `${f.level} ${f.message}`);
    expect(findings('niriss_ref_photom.fits')).toContain("INFO No file corresponding to 'niriss_ref_photom.fits' in context 'jwst_niriss_photom_0021.rmap'");
    const refused = findings('niriss_ref_photom_bad.fits').find((f) => f.includes('Failed resolving comparison reference'));
    expect(refused).toMatch(/^WARNING Failed resolving comparison reference for table checks : Failed inserting 'niriss_ref_photom_bad.fits' into rmap: 'jwst_niriss_photom_0021.rmap' with header:\n/);
    expect(refused).toMatch(/parameter='META.INSTRUMENT.DETECTOR \[DETECTOR\]' value='FOO' is not in \('NIS', '\*', 'N\/A'\)$/);
  });
});

describe('D constraints: expressions over the pixels (DATA)', () => {
  it('checks np.all(...) over a MIRI stray-light mask as the real tool does', () => {
    const prim = { TELESCOP: 'JWST', INSTRUME: 'MIRI', REFTYPE: 'STRAYMASK', DETECTOR: 'MIRIFUSHORT', DESCRIP: 'test', AUTHOR: 'me', PEDIGREE: 'GROUND', USEAFTER: '2020-01-01T00:00:00', DATAMODL: 'StrayLightModel' };
    const mask = (pixels: number[]): string => {
      const file = path.join(tmp, `jwst_miri_straymask_${pixels.join('').replace(/-/g, 'm')}.fits`);
      fs.writeFileSync(file, fitsBytes(prim, [{ name: 'MASK', image: { shape: [2, 2], pixels } }]));
      return file;
    };
    const maskErrors = (file: string): string[] =>
      certifyFile(file, { observatory: 'jwst', specsRoot: SPECS })
        .findings.filter((f) => f.level === 'ERROR' && f.message.startsWith("Checking 'MASK'"))
        .map((f) => f.message);
    // (the synthetic 2x2 float mask also breaks the shape and integer-type constraints)
    expect(maskErrors(mask([0, 1, 1, 0]))).toEqual([
      "Checking 'MASK' : Constraint (MASK_ARRAY.SHAPE==(1024,1032)) is not satisfied.",
      "Checking 'MASK' : Constraint (has_type(MASK_ARRAY,'INT')) is not satisfied.",
    ]);
    expect(maskErrors(mask([0, 2, 1, -1]))).toEqual([
      "Checking 'MASK' : Constraint (MASK_ARRAY.SHAPE==(1024,1032)) is not satisfied.",
      "Checking 'MASK' : Constraint (has_type(MASK_ARRAY,'INT')) is not satisfied.",
      "Checking 'MASK' : Constraint (np.all(0<=MASK_ARRAY.DATA)) is not satisfied.",
      "Checking 'MASK' : Constraint (np.all(MASK_ARRAY.DATA<=1)) is not satisfied.",
    ]);
  });
  it('KernelUnity names the failing kernel with its values as numpy prints float32', () => {
    const f = runValidator({ name: 'SCI', keytype: 'D', datatype: 'X', presence: 'R', values: ['&KernelUnity'] }, 'ipc2.fits', {}, [{ name: 'SCI', image: { shape: [3, 3], pixels: [0, 0, 0, 0, 1.1, 0, 0, 0, 0] } }]);
    expect(f[0].message).toBe("raised: Kernel sum 1.1 is not 1+-1e-6 for kernel #0 : array([[0.0, 0.0, 0.0],\n       [0.0, 1.1, 0.0],\n       [0.0, 0.0, 0.0]], dtype='>f4')");
  });
});
