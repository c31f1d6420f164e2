// The ASDF certifier's own checks: the history reading error, the development asdf library
// warning, a missing asdf_library, JWST's data-model file type refusal, and the context's ASDF
// Standard requirement. Real JWST files of the shared test data read in place under
// jwst_0541.pmap; edge cases as small ASDF files in a temporary folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certifyFile, FitsFile } from '../../crds/certify';
import * as jwst from '../../crds/certify/jwst';
import type { DataModelGuess } from '../../crds/certify/jwst';
import { fitsBytes, type Hdu } from './fits-writer';
import { asdfText, miriDistortionMeta } from './synthetic';
import { datamodelsFileTypeProblem } from '../../crds/certify/reference';
import { MappingStore } from '../../crds/mappings';
import { MAPPINGS, SHARED_DATA, TESTDATA } from '../support/paths';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
const JWST = path.join(TESTDATA, 'jwst');
const store = new MappingStore(MAPPINGS, { ignoreChecksum: 'warn' });

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'asdf-checks-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function findings(file: string, context = 'jwst_0541.pmap', s = store): string[] {
  return certifyFile(file, { observatory: 'jwst', specsRoot: SPECS, store: s, context }).findings.filter((f) => f.level !== 'INFO').map((f) => `${f.level} ${f.message}`);
}

/** A small JWST-style ASDF reference (the YAML tree after the ASDF header lines). */
function asdf(name: string, tree: string, standard = '1.5.0'): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, asdfText(tree, standard));
  return file;
}
const META = miriDistortionMeta('test', 'DistortionModel');

describe('ASDF certifier checks', () => {
  it('a development build of the asdf library is warned about (real test file)', () => {
    expect(findings(path.join(JWST, 'jwst_fgs_distortion_bad_asdf_version.asdf'))).toContain('WARNING File written with dev version of asdf library: 2.0.0.dev1213');
  });

  it('a tree without history is the reader\'s logged error (real test file)', () => {
    expect(findings(path.join(JWST, 'jwst_miri_distortion_0001.asdf'))).toContain("ERROR Failed reading ASDF history, see ASDF docs on adding history : 'history'");
  });

  it('history entries without a time are an error too; complete entries are read', () => {
    const lib = "asdf_library: {author: a, homepage: h, name: asdf, version: 2.8.0}";
    const bad = asdf('jwst_miri_distortion_9991.asdf', `${lib}\nhistory:\n  entries:\n  - {description: made}\n${META}`);
    expect(findings(bad)).toContain("ERROR Failed reading ASDF history, see ASDF docs on adding history : 'time'");
    const good = asdf('jwst_miri_distortion_9992.asdf', `${lib}\nhistory:\n  entries:\n  - {description: made, time: '2020-01-01 00:00:00'}\n${META}`);
    expect(findings(good).filter((f) => /history|dev version/i.test(f))).toEqual([]);
  });

  it('a tree without asdf_library fails the file as the real certifier does', () => {
    const file = asdf('jwst_miri_distortion_9993.asdf', `history:\n  entries: []\n${META}`);
    expect(findings(file)).toContain("ERROR Validation error : 'asdf_library'");
  });

  it("JWST's data models refuse a name without a .fits or .asdf suffix (real opaque test file)", () => {
    expect(findings(path.join(JWST, 'opaque_asd.tmp'))).toContain(`ERROR Validation error : JWST Data Models: Unrecognized file type for: ${path.join(JWST, 'opaque_asd.tmp')}`);
    expect(datamodelsFileTypeProblem('/a/x.fits')).toBeUndefined();
    expect(datamodelsFileTypeProblem('/a/jwst_miri_ipc.bad-keyword.fits')).toBeUndefined();
    expect(datamodelsFileTypeProblem('/a/x.asdf.tmp')).toBeUndefined();
    expect(datamodelsFileTypeProblem('/a/x.tmp')).toBe('Unrecognized file type for: /a/x.tmp');
    expect(datamodelsFileTypeProblem('/a/noext')).toBe('Input file path does not have an extension: /a/noext');
  });

  it("the context's asdf_standard_requirement: a file below it is an error", () => {
    // a private copy of the JWST mappings whose pmap requires ASDF Standard >= 1.6.0
    const dir = path.join(tmp, 'mappings');
    fs.mkdirSync(path.join(dir, 'jwst'), { recursive: true });
    for (const n of fs.readdirSync(path.join(MAPPINGS, 'jwst'))) fs.symlinkSync(path.join(MAPPINGS, 'jwst', n), path.join(dir, 'jwst', n));
    const pmap = fs.readFileSync(path.join(MAPPINGS, 'jwst', 'jwst_0541.pmap'), 'utf8').replace("header = {\n", "header = {\n    'asdf_standard_requirement' : '>=1.6.0',\n");
    fs.writeFileSync(path.join(dir, 'jwst', 'jwst_9541.pmap'), pmap.replace(/'name' : 'jwst_0541.pmap'/, "'name' : 'jwst_9541.pmap'"));
    const own = new MappingStore(dir, { ignoreChecksum: 'warn' });
    const file = asdf('jwst_miri_distortion_9994.asdf', `asdf_library: {author: a, homepage: h, name: asdf, version: 2.8.0}\nhistory:\n  entries: []\n${META}`);
    expect(findings(file, 'jwst_9541.pmap', own)).toContain('ERROR ASDF Standard version 1.5.0 does not fulfill context requirement of asdf_standard>=1.6.0');
    expect(findings(file).some((f) => /ASDF Standard version/.test(f))).toBe(false);
  });
});

describe("JWST data-model class guess (the project check's open)", () => {
  const { guessFitsDataModel, guessAsdfDataModel } = jwst;
  const guess = (name: string, primary: Record<string, string | number | boolean>, hdus: Hdu[]): DataModelGuess => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, fitsBytes(primary, hdus));
    const f = FitsFile.open(file);
    try {
      return guessFitsDataModel(file, f);
    } finally {
      f.close();
    }
  };
  const img = (n: number[], name = 'SCI', ver?: number): Hdu => ({ name, ver, image: { shape: n, pixels: new Array(n.reduce((a, b) => a * b, 1)).fill(0) } });
  it('a known DATAMODL needs no guess', () => {
    expect(guess('a.fits', { DATAMODL: 'FlatModel' }, [img([2, 2])])).toEqual({ className: 'FlatModel' });
  });
  it('by REFTYPE and the SCI shape, a table SCI counting as no shape', () => {
    const file = path.join(tmp, 'b.fits');
    expect(guess('b.fits', { REFTYPE: 'FLAT' }, [img([2, 2])])).toEqual({ className: 'ReferenceImageModel', warning: `model_type not found. Opening ${file} as a ReferenceImageModel` });
    expect(guess('c.fits', { REFTYPE: 'FLAT' }, [img([2, 2, 2])]).className).toBe('ReferenceCubeModel');
    expect(guess('d.fits', { REFTYPE: 'PHOTOM' }, [{ name: 'SCI', table: [{ name: 'X', ints: [1] }] }]).className).toBe('ReferenceFileModel');
  });
  it('without REFTYPE by shape alone; ramps; no class for a 1-D SCI', () => {
    expect(guess('e.fits', {}, [img([2, 2]), img([2, 2], 'SCI', 2)]).className).toBe('MultiSlitModel');
    expect(guess('f.fits', {}, [img([2, 2])]).className).toBe('ImageModel');
    expect(guess('g.fits', {}, [img([1, 1, 2, 2])]).className).toBe('RampModel');
    expect(guess('h.fits', {}, [img([3])])).toEqual({ error: "Can't determine datamodel class from argument to open" });
  });
  it('ASDF: meta.model_type, else JwstDataModel named by the base name; on a real file', () => {
    expect(guessAsdfDataModel('/x/a.asdf', { meta: { model_type: 'DistortionModel' } })).toEqual({ className: 'DistortionModel' });
    expect(guessAsdfDataModel('/x/a.asdf', {})).toEqual({ className: 'JwstDataModel', warning: 'model_type not found. Opening a.asdf as a JwstDataModel' });
    expect(findings(path.join(JWST, 'jwst_miri_distortion_0001.asdf'))).toContain(
      'WARNING NoTypeWarning : stdatamodels.jwst.datamodels.util : model_type not found. Opening jwst_miri_distortion_0001.asdf as a JwstDataModel',
    );
  });
});

describe('ASDF Standard version lookup (file_factory.get_observatory on the path as given)', () => {
  it("a tree without meta fails it unless the path itself starts with an observatory's prefix", () => {
    const real = path.join(JWST, 'jwst_miri_distortion_0001.asdf');
    expect(findings(real)).toContain(`ERROR Checking ASDF Standard version for '${real}' : 'meta'`);
    const cwd = process.cwd();
    try {
      process.chdir(JWST);
      expect(findings('jwst_miri_distortion_0001.asdf').some((f) => f.includes('Checking ASDF Standard version'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });
});
