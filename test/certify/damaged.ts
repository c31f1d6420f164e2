// Damaged and unusual variants of real CRDS files for the certify differential (issue 13
// item 16): each is made at test time from a real reference or mapping of ../shared/data,
// written under os.tmpdir()/crds-certify-damaged/<obs>/<variant>/<real name> (the real name
// kept, since certify reads the instrument and type from it), never into the repository.
//
// Classes (the `kind` of each variant):
//   last-hdu   the last HDU cut short (in its data, its padding or its header) or followed by
//              stray bytes: astropy keeps the complete HDUs and warns;
//   no-end     a header whose END card is blanked;
//   sci-header a reference cut inside its science (SCI) extension header;
//   asdf-cut   an ASDF file cut inside its YAML tree (or its blocks);
//   useafter   USEAFTER written in another form (accepted or not by timestamp.parse_date);
//   renamed    a real mapping saved under the name of another instrument or type.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BLOCK, FitsFile } from '../../crds/io/fits';
import { MappingStore } from '../../crds/mappings';
import { MAPPINGS, SHARED_DATA, TESTDATA } from '../support/paths';

export const DAMAGED_DIR = path.join(os.tmpdir(), 'crds-certify-damaged');
const REFERENCES = path.join(SHARED_DATA, 'crds-cache', 'references');

export type DamageKind = 'last-hdu' | 'no-end' | 'sci-header' | 'asdf-cut' | 'useafter' | 'renamed';

export interface DamagedFile {
  file: string;
  kind: DamageKind;
  /** what was done to the real file */
  what: string;
  /** in the suite's fixed sample (CRDS_CERTIFY_DIFF_ALL=1 runs every variant) */
  sample?: boolean;
}

const real = (obs: string, name: string): string => path.join(TESTDATA, obs, name);

/** Offsets of a real FITS file's HDUs: header start, data start, data end (unpadded). */
function layout(file: string): { header: number; data: number; end: number }[] {
  const f = FitsFile.open(file);
  try {
    return f.hdus.map((h) => ({ header: h.headerOffset, data: h.dataOffset, end: h.dataOffset + h.dataSize }));
  } finally {
    f.close();
  }
}

/** A deterministic run of bytes that is neither FITS padding nor a header. */
function stray(n: number, text = false): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = text ? 0x41 + ((i * 7) % 26) : (i * 7919 + 13) % 256;
  return b;
}

/** The bytes with the first END card at or after `from` blanked (a header without END). */
function blankEnd(bytes: Buffer, from: number): Buffer {
  const out = Buffer.from(bytes);
  for (let c = from; c + 80 <= out.length; c += 80) {
    if (out.toString('latin1', c, c + 80) === 'END'.padEnd(80, ' ')) {
      out.write(' '.repeat(80), c, 'latin1');
      return out;
    }
  }
  throw new Error('no END card found');
}

/** The bytes with USEAFTER's card rewritten to `value` (checksums then differ, on both sides alike). */
function withUseafter(bytes: Buffer, value: string): Buffer {
  const out = Buffer.from(bytes);
  for (let c = 0; c + 80 <= out.length; c += 80) {
    if (out.toString('latin1', c, c + 9) === 'USEAFTER=') {
      out.write(`USEAFTER= '${value}'`.padEnd(80, ' '), c, 'latin1');
      return out;
    }
  }
  throw new Error('no USEAFTER card found');
}

/** The variants the suite runs (a few per class; the rest run with CRDS_CERTIFY_DIFF_ALL=1). */
const SAMPLE = new Set([
  'hst/last-cut-data/y951738kl_hv.fits',
  'hst/last-stray/y951738kl_hv.fits',
  'hst/last-stray-text/y951738kl_hv.fits',
  'jwst/last-cut-data/jwst_miri_flat_slitlessprism.fits',
  'jwst/noend-sci/jwst_miri_ipc_0004.fits',
  'hst/noend-last/y951738kl_hv.fits',
  'hst/sci-cut-mid/hst_acs_biasfile_0001.fits',
  'jwst/sci-cut-mid/jwst_miri_ipc_0004.fits',
  'jwst/asdf-cut-60/jwst_miri_distortion_0001.asdf',
  'jwst/asdf-cut-blocks/jwst_nircam_specwcs_0010.asdf',
  'hst/useafter-4/y951738kl_hv.fits',
  'jwst/useafter-0/jwst_miri_ipc_0004.fits',
  'jwst/useafter-15/jwst_miri_ipc_0004.fits',
  'hst/renamed-instrument/hst_wfc3_darkfile_9990.rmap',
  'hst/renamed-imap/hst_wfc3_9990.imap',
  'jwst/renamed-instrument/jwst_nircam_ipc_9990.rmap',
]);

/** Generate the damaged variants; their paths and classes. */
export function damagedFiles(): DamagedFile[] {
  const out: DamagedFile[] = [];
  const put = (obs: string, variant: string, name: string, bytes: Buffer | string, kind: DamageKind, what: string): void => {
    const file = path.join(DAMAGED_DIR, obs, variant, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    out.push({ file, kind, what, sample: SAMPLE.has(`${obs}/${variant}/${name}`) });
  };

  // --- last-hdu: a COS table (primary + 2 tables), an ACS image set, a MIRI flat, a table of many blocks
  const hv = real('hst', 'y951738kl_hv.fits');
  const hvBytes = fs.readFileSync(hv);
  const hvL = layout(hv);
  const hvLast = hvL[hvL.length - 1];
  put('hst', 'last-cut-data', 'y951738kl_hv.fits', hvBytes.subarray(0, hvLast.data + 500), 'last-hdu', 'cut inside the last table data');
  put('hst', 'last-cut-padding', 'y951738kl_hv.fits', hvBytes.subarray(0, hvLast.end + 100), 'last-hdu', 'last data complete, its padding cut');
  put('hst', 'last-cut-header', 'y951738kl_hv.fits', hvBytes.subarray(0, hvLast.header + 1000), 'last-hdu', 'cut inside the last header');
  put('hst', 'last-stray', 'y951738kl_hv.fits', Buffer.concat([hvBytes, stray(123)]), 'last-hdu', '123 stray bytes after the last HDU');
  put('hst', 'last-stray-text', 'y951738kl_hv.fits', Buffer.concat([hvBytes, stray(BLOCK, true)]), 'last-hdu', 'a block of stray text after the last HDU');
  put('hst', 'last-stray-zeros', 'y951738kl_hv.fits', Buffer.concat([hvBytes, Buffer.alloc(100)]), 'last-hdu', '100 zero bytes after the last HDU');
  const bpx = real('hst', 'j4d1435jj_bpx.fits');
  const bpxL = layout(bpx);
  put('hst', 'last-cut-block', 'j4d1435jj_bpx.fits', fs.readFileSync(bpx).subarray(0, bpxL[1].data + 10 * BLOCK), 'last-hdu', 'table data cut at a block boundary');
  const bias = real('hst', 'hst_acs_biasfile_0001.fits');
  const biasBytes = fs.readFileSync(bias);
  const biasL = layout(bias);
  put('hst', 'last-stray', 'hst_acs_biasfile_0001.fits', Buffer.concat([biasBytes, stray(2000)]), 'last-hdu', 'stray bytes after the last image HDU');
  put('hst', 'last-cut-header-block', 'hst_acs_biasfile_0001.fits', biasBytes.subarray(0, biasL[6].header + BLOCK), 'last-hdu', 'last header cut at a block boundary');
  const flat = real('jwst', 'jwst_miri_flat_slitlessprism.fits');
  const flatBytes = fs.readFileSync(flat);
  const flatL = layout(flat);
  put('jwst', 'last-cut-data', 'jwst_miri_flat_slitlessprism.fits', flatBytes.subarray(0, flatL[5].data + 500), 'last-hdu', 'cut inside the last (METADATA) data');
  put('jwst', 'last-stray', 'jwst_miri_flat_slitlessprism.fits', Buffer.concat([flatBytes, stray(300, true)]), 'last-hdu', 'stray text after the last HDU');

  // --- no-end: the END card blanked in a primary header (alone, or followed by extensions) and in a last extension
  const ipc = real('jwst', 'jwst_miri_ipc_0004.fits');
  const ipcBytes = fs.readFileSync(ipc);
  const ipcL = layout(ipc);
  put('jwst', 'noend-primary-only', 'jwst_miri_ipc_0004.fits', blankEnd(ipcBytes.subarray(0, ipcL[1].header), 0), 'no-end', 'primary header alone, END blanked');
  put('jwst', 'noend-primary', 'jwst_miri_ipc_0004.fits', blankEnd(ipcBytes, 0), 'no-end', 'primary END blanked, extension follows');
  put('jwst', 'noend-sci', 'jwst_miri_ipc_0004.fits', blankEnd(ipcBytes, ipcL[1].header), 'no-end', 'SCI END blanked');
  put('hst', 'noend-last', 'y951738kl_hv.fits', blankEnd(hvBytes, hvLast.header), 'no-end', 'last extension END blanked');
  put('hst', 'noend-primary', 'hst_acs_biasfile_0001.fits', blankEnd(biasBytes, 0), 'no-end', 'multi-block primary END blanked');

  // --- sci-header: cut inside the first SCI extension header (mid-card, mid-block, block boundary, right at its start)
  put('hst', 'sci-cut-block', 'hst_acs_biasfile_0001.fits', biasBytes.subarray(0, biasL[1].header + BLOCK), 'sci-header', 'SCI header cut at a block boundary');
  put('hst', 'sci-cut-mid', 'hst_acs_biasfile_0001.fits', biasBytes.subarray(0, biasL[1].header + 1000), 'sci-header', 'SCI header cut mid-block');
  put('hst', 'sci-cut-start', 'hst_acs_biasfile_0001.fits', biasBytes.subarray(0, biasL[1].header), 'sci-header', 'cut right before the SCI header');
  put('jwst', 'sci-cut-mid', 'jwst_miri_ipc_0004.fits', ipcBytes.subarray(0, ipcL[1].header + 1500), 'sci-header', 'SCI header cut mid-block');
  put('jwst', 'sci-cut-card', 'jwst_miri_ipc_0004.fits', ipcBytes.subarray(0, ipcL[1].header + 40), 'sci-header', 'SCI header cut inside its first card');
  put('jwst', 'sci-cut-start', 'jwst_miri_ipc_0004.fits', ipcBytes.subarray(0, ipcL[1].header), 'sci-header', 'cut right before the SCI header');
  put('jwst', 'sci-cut-mid', 'jwst_miri_flat_slitlessprism.fits', flatBytes.subarray(0, flatL[1].header + 2000), 'sci-header', 'SCI header cut mid-block (large flat)');

  // --- asdf-cut: real ASDF references cut inside the YAML tree, and inside their binary blocks
  for (const [obs, file] of [
    ['jwst', real('jwst', 'jwst_miri_distortion_0001.asdf')],
    ['jwst', real('jwst', 'jwst_nircam_specwcs_0010.asdf')],
    ['roman', path.join(REFERENCES, 'roman', 'roman_wfi_dark_0001.asdf')],
  ] as const) {
    const bytes = fs.readFileSync(file);
    const treeEnd = bytes.indexOf('\n...\n');
    const yamlEnd = treeEnd > 0 ? treeEnd : bytes.length;
    for (const frac of [0.3, 0.6, 0.95]) {
      put(obs, `asdf-cut-${Math.round(frac * 100)}`, path.basename(file), bytes.subarray(0, Math.floor(yamlEnd * frac)), 'asdf-cut', `YAML tree cut at ${Math.round(frac * 100)}%`);
    }
    if (treeEnd > 0 && bytes.length > treeEnd + 200) {
      put(obs, 'asdf-cut-blocks', path.basename(file), bytes.subarray(0, treeEnd + 5 + Math.floor((bytes.length - treeEnd - 5) / 2)), 'asdf-cut', 'cut inside the binary blocks');
    }
  }

  // --- useafter: other forms of the date, on an HST (&SYBDATE) and a JWST (&JWSTDATE) reference
  const forms = [
    'Jan 01 2010 00:00:00',
    'Jan 1 2010 12:00:00 PM',
    'Jan 01, 2010',
    'January 01 2010 00:00:00',
    '2010-01-01T00:00:00',
    '2010-01-01 00:00:00',
    '2010-01-01 00:00:00 UT',
    '2010/01/01 00:00:00',
    '2010-01-01T00:00:00.5',
    '01/02/2010',
    '01/02/2010 10:11',
    '01/02/99',
    '20100101:101112',
    'Feb 30 2010 00:00:00',
    '2010-13-01T00:00:00',
    'yesterday',
  ];
  forms.forEach((form, i) => {
    put('hst', `useafter-${i}`, 'y951738kl_hv.fits', withUseafter(hvBytes, form), 'useafter', `HST USEAFTER '${form}'`);
    put('jwst', `useafter-${i}`, 'jwst_miri_ipc_0004.fits', withUseafter(ipcBytes, form), 'useafter', `JWST USEAFTER '${form}'`);
  });

  // --- renamed: a context's mapping under the name of another instrument's (or type's) mapping
  const store = new MappingStore(MAPPINGS, { ignoreChecksum: 'warn' });
  const hst = store.loadContext('hst_0729.pmap');
  const mapText = (name: string): string => fs.readFileSync(store.locate(name), 'utf8');
  const acsDark = hst.getImap('acs').getRmap('darkfile').name;
  put('hst', 'renamed-instrument', 'hst_wfc3_darkfile_9990.rmap', mapText(acsDark), 'renamed', `${acsDark} named as a WFC3 darkfile rmap`);
  put('hst', 'renamed-filekind', 'hst_acs_biasfile_9990.rmap', mapText(acsDark), 'renamed', `${acsDark} named as an ACS biasfile rmap`);
  put('hst', 'renamed-absent', 'hst_cos_darkfile_9990.rmap', mapText(acsDark), 'renamed', `${acsDark} named as a COS darkfile rmap (a type COS lacks)`);
  const acsImap = hst.getImap('acs').name;
  put('hst', 'renamed-imap', 'hst_wfc3_9990.imap', mapText(acsImap), 'renamed', `${acsImap} named as a WFC3 imap`);
  const jw = store.loadContext('jwst_0541.pmap');
  const miriIpc = jw.getImap('miri').getRmap('ipc').name;
  put('jwst', 'renamed-instrument', 'jwst_nircam_ipc_9990.rmap', mapText(miriIpc), 'renamed', `${miriIpc} named as a NIRCam ipc rmap`);
  return out;
}
