// Small synthetic files for the certify differential test: edge cases of the special
// validators, D constraints, FITS integrity checks, GEIS headers and ASDF trees that the shared
// test data does not cover. Written (deterministically, the same bytes each run) under
// os.tmpdir()/crds-certify-synthetic, never into the repository; real files are only read.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TESTDATA } from '../support/paths';
import { fitsBytes, type Hdu } from './fits-writer';

export const SYNTHETIC_DIR = path.join(os.tmpdir(), 'crds-certify-synthetic');

function write(rel: string, bytes: Buffer | string): string {
  const file = path.join(SYNTHETIC_DIR, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

const img = (shape: number[], pixels: number[], name = 'SCI', ver?: number): Hdu => ({ name, ver, image: { shape, pixels } });
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

/** A small ASDF file: its header lines, then `tree` as the YAML document. */
export function asdfText(tree: string, standard = '1.5.0'): string {
  return `#ASDF 1.0.0\n#ASDF_STANDARD ${standard}\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n${tree}\n...\n`;
}

/** The `meta` of a small JWST MIRI distortion reference tree. */
export function miriDistortionMeta(description: string, modelType: string): string {
  return `meta:
  author: test
  description: ${description}
  instrument: {name: MIRI, band: SHORT, channel: '12', detector: MIRIFUSHORT}
  pedigree: GROUND
  reftype: DISTORTION
  telescope: JWST
  useafter: '2020-01-01T00:00:00'
  model_type: ${modelType}`;
}

/** Generate the synthetic files; their paths. */
export function syntheticFiles(): string[] {
  const out: string[] = [];
  const jwst = { TELESCOP: 'JWST', DESCRIP: 'synthetic', AUTHOR: 'test', PEDIGREE: 'GROUND', USEAFTER: '2020-01-01T00:00:00', SUBARRAY: 'FULL', HISTORY: 'synthetic' };

  // &KernelUnity: good kernel; sum off; small center; 4-D stacks of kernels, good and bad
  const ipc = { ...jwst, INSTRUME: 'MIRI', REFTYPE: 'IPC', DETECTOR: 'MIRIMAGE', DATAMODL: 'IPCModel' };
  out.push(write('jwst_miri_ipc_9001.fits', fitsBytes(ipc, [img([3, 3], [0, -0.1, 0, -0.1, 1.4, -0.1, 0, -0.1, 0])])));
  out.push(write('jwst_miri_ipc_9002.fits', fitsBytes(ipc, [img([3, 3], [0, 0, 0, 0, 1.1, 0, 0, 0, 0])])));
  out.push(write('jwst_miri_ipc_9003.fits', fitsBytes(ipc, [img([3, 3], [0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2])])));
  const four: number[] = [];
  for (let q = 0; q < 3; q++) for (let p = 0; p < 3; p++) for (let k = 0; k < 4; k++) four.push(q === 1 && p === 1 ? (k === 3 ? 0.9 : 1) : k === 3 && q === 0 && p === 0 ? 0.1 : 0);
  out.push(write('jwst_miri_ipc_9004.fits', fitsBytes(ipc, [img([3, 3, 2, 2], four)])));
  out.push(write('jwst_miri_ipc_9005.fits', fitsBytes(ipc, [img([3, 3, 2, 2], four.map((v, i) => (i === 7 ? 0.5 : v)))])));

  // D expressions over DATA: a MIRI stray-light mask within and outside 0..1
  const mask = { ...jwst, INSTRUME: 'MIRI', REFTYPE: 'STRAYMASK', DETECTOR: 'MIRIFUSHORT', DATAMODL: 'StrayLightModel' };
  out.push(write('jwst_miri_straymask_9001.fits', fitsBytes(mask, [img([2, 2], [0, 1, 1, 0], 'MASK')])));
  out.push(write('jwst_miri_straymask_9002.fits', fitsBytes(mask, [img([2, 2], [0, 2, 1, -1], 'MASK')])));

  // &IsomorphicFitsVer: PS versions of one shape, and of two
  const pathloss = { ...jwst, INSTRUME: 'NIRISS', REFTYPE: 'PATHLOSS', DATAMODL: 'PathlossModel', EXP_TYPE: 'NIS_SOSS' };
  out.push(write('jwst_niriss_pathloss_9001.fits', fitsBytes(pathloss, [img([1, 2, 3], zeros(6), 'PS', 1), img([1, 2, 3], zeros(6), 'PS', 2)])));
  out.push(write('jwst_niriss_pathloss_9002.fits', fitsBytes(pathloss, [img([1, 2, 3], zeros(6), 'PS', 1), img([1, 3, 3], zeros(9), 'PS', 2)])));

  // FITS integrity: a real HST table reference (right checksums) with a data byte changed, a
  // header comment changed, and cut short
  const apd = path.join(TESTDATA, 'hst', '16j16005o_apd.fits');
  const bytes = fs.readFileSync(apd);
  const lastData = bytes.length - 2880; // inside the last HDU's data
  const data = Buffer.from(bytes);
  data[lastData] ^= 0x01;
  out.push(write('data/16j16005o_apd.fits', data));
  const header = Buffer.from(bytes);
  const hist = header.lastIndexOf('HISTORY');
  if (hist > 0) header.write('X', hist + 12, 'latin1');
  out.push(write('header/16j16005o_apd.fits', header));
  out.push(write('cut/16j16005o_apd.fits', bytes.subarray(0, bytes.length - 1000)));

  // GEIS: a complete header with a bad PEDIGREE and a card whose comment is not at column 32
  const geis = fs.readFileSync(path.join(TESTDATA, 'hst', 'dbu1405fu.r1h'), 'latin1');
  out.push(write('geis/dbu1405fu.r1h', geis.replace(/^PEDIGREE= 'DUMMY'   /m, "PEDIGREE= 'BOGUS'   ")));
  out.push(write('geis2/dbu1405fu.r1h', geis.replace(/^DESCRIP=  .*$/m, "DESCRIP = 'A description'  / with a comment off column 32".padEnd(80, ' '))));

  // ASDF trees: a history entry without a time; no asdf_library; a development library version
  const meta = miriDistortionMeta('synthetic', 'DistortionMRSModel');
  const asdf = (tree: string): string => asdfText(tree);
  const lib = (v: string): string => `asdf_library: !core/software-1.0.0 {author: a, homepage: h, name: asdf, version: ${v}}`;
  out.push(write('jwst_miri_distortion_9001.asdf', asdf(`${lib('2.8.0')}\nhistory:\n  entries:\n  - !core/history_entry-1.0.0 {description: made}\n${meta}`)));
  out.push(write('jwst_miri_distortion_9002.asdf', asdf(`history:\n  entries: []\n${meta}`)));
  out.push(write('jwst_miri_distortion_9003.asdf', asdf(`${lib('3.0.0.dev7')}\nhistory:\n  entries:\n  - !core/history_entry-1.0.0 {description: made, time: !!timestamp '2020-01-01 00:00:00'}\n${meta}`)));
  return out.sort();
}
