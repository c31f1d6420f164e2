// Hostile reference files: every one must end in a clear error (or a clean read), quickly and
// without large allocations. Fixtures are generated into a temporary folder at test time.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AsdfError, readAsdfTree } from '../../crds/io/asdf';
import { BLOCK, FitsError, FitsFile } from '../../crds/io/fits';
import { truncationWarnings } from '../../crds/io/fits-checks';
import { certifyFile } from '../../crds/certify';
import { SHARED_DATA, TESTDATA } from '../support/paths';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-hostile-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function card(text: string): string {
  return text.padEnd(80, ' ').slice(0, 80);
}

function header(cards: string[], end = true): Buffer {
  const text = [...cards.map(card), ...(end ? [card('END')] : [])].join('');
  const padded = text.padEnd(Math.ceil(text.length / BLOCK) * BLOCK, ' ');
  return Buffer.from(padded, 'latin1');
}

/** Reading must fail with a FitsError whose message matches `why`, within `ms` milliseconds. */
function expectFitsError(file: string, why: RegExp, ms = 2000): void {
  const start = Date.now();
  const heap = process.memoryUsage().heapUsed;
  let error: unknown;
  try {
    FitsFile.open(file).close();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(FitsError);
  expect((error as Error).message).toMatch(why);
  expect(Date.now() - start).toBeLessThan(ms);
  expect(process.memoryUsage().heapUsed - heap).toBeLessThan(64 * 1024 * 1024);
}

const REAL = path.join(TESTDATA, 'hst', 'y951738kl_hv.fits'); // primary + 2 binary tables

describe('hostile FITS files', () => {
  it('a real file truncated at every block boundary: a clear error or, as astropy, the cut HDU kept with a warning (never hangs or crashes)', () => {
    const bytes = fs.readFileSync(REAL);
    const blocks = bytes.length / BLOCK;
    expect(Number.isInteger(blocks)).toBe(true);
    const full = FitsFile.open(REAL);
    const hduEnds = new Set(full.hdus.map((h) => h.dataOffset + Math.ceil(h.dataSize / BLOCK) * BLOCK));
    // a cut inside an HDU's data (its header complete): astropy keeps the HDU, warns "File may
    // have been truncated", and only reading the data fails (test/certify/damaged.test.ts
    // checks the verdicts against the real tool)
    const inData = (cut: number): boolean => full.hdus.some((h) => cut >= h.dataOffset && cut < h.dataOffset + Math.ceil(h.dataSize / BLOCK) * BLOCK);
    full.close();
    let clean = 0;
    let kept = 0;
    for (let b = 0; b < blocks; b++) {
      const file = path.join(dir, `trunc-${b}.fits`);
      fs.writeFileSync(file, bytes.subarray(0, b * BLOCK));
      if (hduEnds.has(b * BLOCK)) {
        // cut exactly after an HDU: a valid, shorter FITS file
        const f = FitsFile.open(file);
        expect(f.hdus.length).toBeLessThan(3);
        f.close();
        clean++;
        continue;
      }
      if (inData(b * BLOCK)) {
        const f = FitsFile.open(file);
        expect(truncationWarnings(f)).toHaveLength(1);
        expect(() => f.readData(f.hdus[f.hdus.length - 1])).toThrow(FitsError);
        f.close();
        kept++;
      } else expectFitsError(file, /empty file|truncated|without END|missing END/);
      // and through certify: an error finding (the table cannot be read), not an exception
      const r = certifyFile(file, { observatory: 'hst', specsRoot: SPECS });
      expect(r.errors).toBeGreaterThan(0);
    }
    expect(clean).toBe(2);
    expect(kept).toBe(2);
    // cut in the middle of the second header: astropy keeps the first HDU and warns about the rest
    const mid = path.join(dir, 'trunc-mid.fits');
    fs.writeFileSync(mid, bytes.subarray(0, BLOCK + 1234));
    const f = FitsFile.open(mid);
    expect(f.hdus).toHaveLength(1);
    expect(f.walkWarnings.map((w) => w.message)).toEqual([expect.stringMatching(/Header size is not multiple of 2880: 1234/)]);
    f.close();
  });

  it('a header without END fails, naming the missing END', () => {
    const file = path.join(dir, 'no-end.fits');
    fs.writeFileSync(file, header(['SIMPLE  =                    T', 'BITPIX  =                    8', 'NAXIS   =                    0'], false));
    expectFitsError(file, /without END/);
  });

  it('absurd NAXISn sizes fail before any allocation', () => {
    const file = path.join(dir, 'naxis.fits');
    fs.writeFileSync(file, header(['SIMPLE  =                    T', 'BITPIX  =                  -64', 'NAXIS   =                    3', 'NAXIS1  =           2000000000', 'NAXIS2  =           2000000000', 'NAXIS3  =           2000000000']));
    expectFitsError(file, /truncated|absurd/);
    const huge = path.join(dir, 'naxis-digits.fits');
    fs.writeFileSync(huge, header(['SIMPLE  =                    T', 'BITPIX  =                    8', 'NAXIS   =                    1', 'NAXIS1  = 99999999999999999999999']));
    expectFitsError(huge, /out of range|integer/);
    const neg = path.join(dir, 'naxis-neg.fits');
    fs.writeFileSync(neg, header(['SIMPLE  =                    T', 'BITPIX  =                    8', 'NAXIS   =                    1', 'NAXIS1  =                  -10']));
    expectFitsError(neg, /negative/);
  });

  it('binary junk is not a FITS file', () => {
    const file = path.join(dir, 'junk.fits');
    const junk = Buffer.alloc(3 * BLOCK);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) % 256;
    fs.writeFileSync(file, junk);
    expectFitsError(file, /not a FITS file/);
    const lying = path.join(dir, 'junk-after-simple.fits');
    fs.writeFileSync(lying, Buffer.concat([Buffer.from(card('SIMPLE  =                    T')), junk.subarray(0, BLOCK - 80)]));
    expectFitsError(lying, /non-ASCII|illegal keyword|unparsable|without END/);
  });

  it('a 2 GB sparse file with a small header: the header is read without touching the data', () => {
    const file = path.join(dir, 'sparse.fits');
    const naxis1 = 32768;
    const naxis2 = 16384; // float32: 2 GiB of data
    const h = header(['SIMPLE  =                    T', 'BITPIX  =                  -32', 'NAXIS   =                    2', `NAXIS1  = ${String(naxis1).padStart(20)}`, `NAXIS2  = ${String(naxis2).padStart(20)}`, "INSTRUME= 'ACS     '"]);
    fs.writeFileSync(file, h);
    fs.truncateSync(file, h.length + naxis1 * naxis2 * 4);
    const start = Date.now();
    const f = FitsFile.open(file);
    try {
      expect(f.hdus).toHaveLength(1);
      expect(f.hdus[0].shape).toEqual([naxis2, naxis1]);
      expect(f.bytesRead).toBe(BLOCK);
    } finally {
      f.close();
    }
    expect(Date.now() - start).toBeLessThan(1000);
    // the same file cut short by one byte: the HDU is kept with astropy's truncation warning,
    // and still only the header block is read
    fs.truncateSync(file, h.length + naxis1 * naxis2 * 4 - 1);
    const cut = FitsFile.open(file);
    try {
      expect(truncationWarnings(cut)).toHaveLength(1);
      expect(cut.bytesRead).toBe(BLOCK);
    } finally {
      cut.close();
    }
  });
});

describe('hostile ASDF files', () => {
  const asdf = (yaml: string): string => `#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n${yaml}\n...\n`;

  it('a YAML alias bomb fails fast instead of expanding', () => {
    const lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const file = path.join(dir, 'bomb.asdf');
    fs.writeFileSync(file, asdf(lines.join('\n')));
    const start = Date.now();
    expect(() => readAsdfTree(file)).toThrow(AsdfError);
    expect(() => readAsdfTree(file)).toThrow(/alias|nodes/);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('a truncated ASDF tree and a non-ASDF file fail clearly', () => {
    const good = fs.readFileSync(path.join(TESTDATA, 'jwst', 'valid.asdf'));
    const cut = path.join(dir, 'cut.asdf');
    fs.writeFileSync(cut, good.subarray(0, 300));
    expect(() => readAsdfTree(cut)).toThrow(/truncated|not terminated|invalid YAML/);
    const junk = path.join(dir, 'junk.asdf');
    fs.writeFileSync(junk, Buffer.from([0xd3, 0x42, 0x4c, 0x4b, 1, 2, 3]));
    expect(() => readAsdfTree(junk)).toThrow(/#ASDF/);
    const r = certifyFile(cut, { observatory: 'jwst', specsRoot: SPECS });
    expect(r.errors).toBeGreaterThan(0);
  });

  it('a deeply nested tree is refused, not a stack overflow', () => {
    const file = path.join(dir, 'deep.asdf');
    fs.writeFileSync(file, asdf(`x: ${'['.repeat(5000)}${']'.repeat(5000)}`));
    expect(() => readAsdfTree(file)).toThrow(AsdfError);
  });
});
