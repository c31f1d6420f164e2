// FITS integrity checks reported as the real tool's astropy warnings (crds/io/fits-checks.ts):
// CHECKSUM / DATASUM, truncation, TDISPn formats. Real files read in place; corrupted or cut
// copies written to a temporary folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certifyFile, FitsFile } from '../../crds/certify';
import { checksumWarnings, onesComplementSum, tdispProblem, tdispWarnings, truncationWarnings } from '../../crds/io/fits-checks';
import { SHARED_DATA, TESTDATA } from '../support/paths';
import { fitsBytes } from './fits-writer';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
const HST = path.join(TESTDATA, 'hst');
const VALID = path.join(HST, '16j16005o_apd.fits'); // CHECKSUM and DATASUM correct on every HDU

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fits-checks-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function withFits<T>(file: string, fn: (f: FitsFile) => T): T {
  const f = FitsFile.open(file);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}
const messages = (ws: { message: string }[]): string[] => ws.map((w) => w.message);

describe('CHECKSUM and DATASUM', () => {
  it('ones-complement sums fold the carry around', () => {
    expect(onesComplementSum(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2]))).toBe(2);
    expect(onesComplementSum(Buffer.from([0, 0, 0, 1, 0x80]))).toBe(0x80000001);
  });

  it('accepts a file whose checksums are right', () => {
    expect(withFits(VALID, checksumWarnings)).toEqual([]);
  });

  it('reports the real bad-checksum test file as astropy does (padding counted in the data sum)', () => {
    expect(messages(withFits(path.join(HST, 's7g1700gl_dead_bad_xsum.fits'), checksumWarnings))).toEqual([
      "Checksum verification failed for HDU ('', 1).",
      "Datasum verification failed for HDU ('', 1).",
    ]);
  });

  it('a changed data byte breaks both sums; a changed header byte only the CHECKSUM', () => {
    const bytes = fs.readFileSync(VALID);
    const f = FitsFile.open(VALID);
    const last = f.hdus[f.hdus.length - 1];
    const label = `('${last.name}', ${last.ver})`;
    f.close();
    const data = Buffer.from(bytes);
    data[last.dataOffset] ^= 0x01;
    fs.writeFileSync(path.join(tmp, 'data.fits'), data);
    expect(messages(withFits(path.join(tmp, 'data.fits'), checksumWarnings))).toEqual([`Checksum verification failed for HDU ${label}.`, `Datasum verification failed for HDU ${label}.`]);
    const header = Buffer.from(bytes);
    const at = header.indexOf('HISTORY', last.headerOffset);
    header.write('X', at + 10, 'latin1');
    fs.writeFileSync(path.join(tmp, 'header.fits'), header);
    expect(messages(withFits(path.join(tmp, 'header.fits'), checksumWarnings))).toEqual([`Checksum verification failed for HDU ${label}.`]);
  });
});

describe('truncation and TDISPn', () => {
  it('a file shorter than its last HDU says is warned about with both sizes', () => {
    const bytes = fs.readFileSync(VALID);
    fs.writeFileSync(path.join(tmp, 'cut.fits'), bytes.subarray(0, bytes.length - 1000));
    expect(messages(withFits(path.join(tmp, 'cut.fits'), truncationWarnings))).toEqual([
      `File may have been truncated: actual file length (${bytes.length - 1000}) is smaller than the expected size (${bytes.length})`,
    ]);
    expect(withFits(VALID, truncationWarnings)).toEqual([]);
  });

  it('TDISPn formats as astropy parses them', () => {
    for (const ok of ['A26', 'L1', 'I10', 'I10.5', 'F8.3', 'E15.7', 'E15.7E3', 'G12.5', 'D25.17', 'EN12.3', 'ES12.3', 'Z8']) expect(tdispProblem(ok)).toBeUndefined();
    for (const bad of ['26A', 'J', 'I', 'A', 'F8', 'X5', 'E']) expect(tdispProblem(bad)).toBe(`Format ${bad} is not recognized.`);
  });

  it('reports each refused TDISPn of a table by column number; certify shows it as the real tool does', () => {
    const file = path.join(tmp, 'tdisp.fits');
    fs.writeFileSync(file, fitsBytes({}, [{ table: [{ name: 'A', values: ['x'] }, { name: 'B', ints: [1] }], keywords: { TDISP1: '26A', TDISP2: 'I8' } }]));
    expect(messages(withFits(file, tdispWarnings))).toEqual([
      'Invalid keyword for column 1: Column disp option (TDISPn) failed verification: Format 26A is not recognized. The invalid value will be ignored for the purpose of formatting the data in this column.',
    ]);
    const real = certifyFile(path.join(HST, 'hst_synphot_extra_tmg.fits'), { observatory: 'hst', specsRoot: SPECS });
    expect(real.findings.filter((x) => x.level === 'WARNING').map((x) => x.message)).toContain(
      'VerifyWarning : astropy.io.fits.column : Invalid keyword for column 3: Column disp option (TDISPn) failed verification: Format J is not recognized. The invalid value will be ignored for the purpose of formatting the data in this column.',
    );
  });
});
