// GEIS headers (crds/io/geis.ts) and their certification as HST references: the real files of
// the shared test data read in place, edge cases as small files written to a temporary folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certifyFile } from '../../crds/certify';
import { fileFormat } from '../../crds/certify/headers';
import { geisHeaderPath, GEIS_MAX_HEADER_BYTES, isGeisName, parseGeisHeader, readGeisHeader } from '../../crds/io/geis';
import { SHARED_DATA, TESTDATA } from '../support/paths';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
const card = (s: string): string => s.padEnd(80, ' ') + '\n';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'geis-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('GEIS header reader', () => {
  it('reads the cards as the real reader: quotes removed, comments cut only at column 32, HISTORY joined, last duplicate wins', () => {
    const h = parseGeisHeader(
      [
        card("INSTRUME= 'WFPC2   '           / instrument in use"),
        card("DESCRIP=  'Fake description.\"   / not a comment: column 32 is no slash"),
        card('NAXIS1  =                  800 /'),
        card("FILTNAM1= '        '           / empty"),
        card('                               / GROUP PARAMETERS: OSS'),
        card('HISTORY This file was edited'),
        card('HISTORY'),
        card("HISTORY a = b"),
        card("EQ      = 'a=b'                / value with '='"),
        card("NAXIS1  =                  801 /"),
        card('END'),
      ].join(''),
    );
    expect(h.get('INSTRUME')).toBe('WFPC2');
    expect(h.get('DESCRIP')).toBe("'Fake description.\"   / not a comment: column 32 is no slash");
    expect(h.get('FILTNAM1')).toBe('');
    expect(h.get('EQ')).toBe('a=b');
    expect(h.get('NAXIS1')).toBe('801');
    expect(h.get('HISTORY')).toBe('This file was edited\n\na = b');
    expect(h.has('END')).toBe(false);
  });

  it('names: header and data files, the header beside a data file', () => {
    expect(isGeisName('e1b09593u.r1h')).toBe(true);
    expect(isGeisName('e1b09593u.r1d')).toBe(true);
    expect(isGeisName('x.fits')).toBe(false);
    expect(geisHeaderPath('/a/e1b09593u.r1d')).toBe('/a/e1b09593u.r1h');
  });

  it('reads a real header file in place', () => {
    const h = readGeisHeader(path.join(TESTDATA, 'hst', 'dbu1405fu.r1h'));
    expect(h.get('INSTRUME')).toBe('WFPC2');
    expect(h.get('FILETYPE')).toBe('A2D');
    expect(h.get('PEDIGREE')).toBe('DUMMY');
    expect(h.get('USEAFTER')).toBe('Jul 30 2017');
  });

  it('gives a clear error for a missing, oversized or binary header file', () => {
    expect(() => readGeisHeader(path.join(tmp, 'none.r1h'))).toThrow(/No such file/);
    const big = path.join(tmp, 'big.r1h');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, GEIS_MAX_HEADER_BYTES + 1);
    expect(() => readGeisHeader(big)).toThrow(/more than/);
    const junk = path.join(tmp, 'junk.r1h');
    fs.writeFileSync(junk, Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    expect(() => readGeisHeader(junk)).toThrow(/codec can't decode/);
  });

  it('tells GEIS from FITS by content when the name does not (80-character lines, each ending in a newline)', () => {
    const geis = path.join(tmp, 'opaque_a.tmp');
    fs.writeFileSync(geis, card('SIMPLE  =                    F /') + card("INSTRUME= 'WFPC2   '") + card('END'));
    expect(fileFormat(geis)).toBe('geis');
    const notGeis = path.join(tmp, 'opaque_b.tmp');
    fs.writeFileSync(notGeis, card('SIMPLE  =                    F /') + 'SHORT LINE\n');
    expect(fileFormat(notGeis)).toBe('fits');
    expect(fileFormat(path.join(TESTDATA, 'jwst', 'opaque_gs.tmp'))).toBe('geis');
  });
});

describe('GEIS certification', () => {
  const keys = (file: string): string[] =>
    certifyFile(file, { specsRoot: SPECS }).findings.filter((f) => f.level !== 'INFO').map((f) => `${f.level} ${f.message}`);

  it('certifies a complete WFPC2 A-to-D header (type from the .r1 extension), warning only about group keys', () => {
    expect(keys(path.join(TESTDATA, 'hst', 'dbu1405fu.r1h'))).toEqual(['WARNING Group keys are not currently supported by CRDS.']);
  });

  it('finds the type in the header when the name does not decode (valid.r1h, opaque_gs.tmp), observatory HST by default', () => {
    expect(keys(path.join(TESTDATA, 'hst', 'valid.r1h'))).toEqual(['WARNING Group keys are not currently supported by CRDS.']);
    const r = certifyFile(path.join(TESTDATA, 'jwst', 'opaque_gs.tmp'), { specsRoot: SPECS });
    expect(r.format).toBe('geis');
    expect(r.errors).toBe(0);
  });

  it('reports missing required keywords of an incomplete header', () => {
    expect(keys(path.join(TESTDATA, 'hst', 'e1b09593u.r1h'))).toEqual([
      "ERROR Checking 'DESCRIP' : Missing required keyword 'DESCRIP'",
      'WARNING Group keys are not currently supported by CRDS.',
      "ERROR Checking 'PEDIGREE' : Missing required keyword 'PEDIGREE'",
      "ERROR Checking 'USEAFTER' : Missing required keyword 'USEAFTER'",
    ]);
  });

  it('checks values of a synthetic header (bad PEDIGREE)', () => {
    const src = fs.readFileSync(path.join(TESTDATA, 'hst', 'dbu1405fu.r1h'), 'latin1');
    const bad = path.join(tmp, 'dbu1405fu.r1h');
    fs.writeFileSync(bad, src.replace(/^PEDIGREE= 'DUMMY'   /m, "PEDIGREE= 'BOGUS'   "));
    const k = keys(bad);
    expect(k.some((x) => /^ERROR Checking 'PEDIGREE' : Invalid value: 'BOGUS'/.test(x))).toBe(true);
  });
});
