// Writes the embedded default site's demo rules and references into config/demo/cache, a
// CRDS cache folder that `ops/manage init` (run by ops/run) imports like any other:
//   two contexts, hst_0001.pmap and hst_0002.pmap (ACS and WFC3, flshfile and darkfile),
//   where hst_0002 adds a newer ACS dark, and small generated FITS references.
// The mappings are written with the project's own serializer and checksum, so every one
// verifies; the references are tiny but real FITS files with the keywords the rules match.
// Deterministic: running it again rewrites the same bytes. Usage: node --import tsx config/demo/generate.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rewriteChecksum } from '../../crds/serialize';

export const DEMO_CACHE = path.join(__dirname, 'cache');

interface DemoReference {
  name: string;
  instrument: 'ACS' | 'WFC3';
  filetype: string;
  detector: string;
  ccdamp: string;
  useafter: string; // 'YYYY-MM-DD HH:MM:SS'
  pedigree: string;
  descrip: string;
}

const REFERENCES: DemoReference[] = [
  { name: 'd1a1000aj_fls.fits', instrument: 'ACS', filetype: 'FLASH', detector: 'WFC', ccdamp: 'ABCD', useafter: '2002-03-01 00:00:00', pedigree: 'GROUND', descrip: 'Demo WFC post-flash, all amplifiers' },
  { name: 'd1a1000bj_fls.fits', instrument: 'ACS', filetype: 'FLASH', detector: 'WFC', ccdamp: 'ABCD', useafter: '2009-05-14 00:00:00', pedigree: 'INFLIGHT 14/05/2009 14/05/2009', descrip: 'Demo WFC post-flash after servicing mission 4' },
  { name: 'd1a1000cj_fls.fits', instrument: 'ACS', filetype: 'FLASH', detector: 'HRC', ccdamp: 'C', useafter: '2002-03-01 00:00:00', pedigree: 'GROUND', descrip: 'Demo HRC post-flash' },
  { name: 'd1a1001aj_drk.fits', instrument: 'ACS', filetype: 'DARK', detector: 'WFC', ccdamp: 'ABCD', useafter: '2002-03-01 00:00:00', pedigree: 'GROUND', descrip: 'Demo WFC dark' },
  { name: 'd1a1001bj_drk.fits', instrument: 'ACS', filetype: 'DARK', detector: 'HRC', ccdamp: 'C', useafter: '2002-03-01 00:00:00', pedigree: 'GROUND', descrip: 'Demo HRC dark' },
  { name: 'd1a1001cj_drk.fits', instrument: 'ACS', filetype: 'DARK', detector: 'WFC', ccdamp: 'ABCD', useafter: '2016-01-01 00:00:00', pedigree: 'INFLIGHT 01/01/2016 01/01/2016', descrip: 'Demo WFC dark, 2016 (added by hst_0002)' },
  { name: 'd1a1002ai_fls.fits', instrument: 'WFC3', filetype: 'FLASH', detector: 'UVIS', ccdamp: 'ABCD', useafter: '2009-05-14 00:00:00', pedigree: 'INFLIGHT 14/05/2009 14/05/2009', descrip: 'Demo UVIS post-flash' },
  { name: 'd1a1002bi_fls.fits', instrument: 'WFC3', filetype: 'FLASH', detector: 'IR', ccdamp: 'ABCD', useafter: '2009-05-14 00:00:00', pedigree: 'INFLIGHT 14/05/2009 14/05/2009', descrip: 'Demo IR post-flash' },
  { name: 'd1a1003ai_drk.fits', instrument: 'WFC3', filetype: 'DARK', detector: 'UVIS', ccdamp: 'ABCD', useafter: '2009-05-14 00:00:00', pedigree: 'INFLIGHT 14/05/2009 14/05/2009', descrip: 'Demo UVIS dark' },
  { name: 'd1a1003bi_drk.fits', instrument: 'WFC3', filetype: 'DARK', detector: 'IR', ccdamp: 'ABCD', useafter: '2009-05-14 00:00:00', pedigree: 'INFLIGHT 14/05/2009 14/05/2009', descrip: 'Demo IR dark' },
];

/** A FITS card: keyword, value indicator, value (strings quoted), padded to 80 columns. */
function card(keyword: string, value: string | number | boolean): string {
  const v = typeof value === 'string' ? `'${value.replace(/'/g, "''").padEnd(8)}'` : typeof value === 'boolean' ? (value ? 'T' : 'F') : String(value);
  const text = `${keyword.padEnd(8)}= ${typeof value === 'string' ? v.padEnd(20) : v.padStart(20)}`;
  return text.padEnd(80).slice(0, 80);
}

/** A small primary-HDU FITS image: a 64×45 8-bit array whose bytes depend on the name. */
export function demoFits(ref: DemoReference): Buffer {
  const [date, time] = ref.useafter.split(' ');
  const [y, m, d] = date.split('-').map(Number);
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m - 1];
  const cards = [
    card('SIMPLE', true),
    card('BITPIX', 8),
    card('NAXIS', 2),
    card('NAXIS1', 64),
    card('NAXIS2', 45),
    card('TELESCOP', 'HST'),
    card('INSTRUME', ref.instrument),
    card('DETECTOR', ref.detector),
    card('CCDAMP', ref.ccdamp),
    card('FILETYPE', ref.filetype),
    card('USEAFTER', `${month} ${String(d).padStart(2, '0')} ${y} ${time}`),
    card('PEDIGREE', ref.pedigree),
    card('DESCRIP', ref.descrip),
    card('FILENAME', ref.name),
    'END'.padEnd(80),
  ];
  const header = Buffer.from(cards.join('').padEnd(2880), 'latin1');
  const data = Buffer.alloc(2880);
  let seed = [...ref.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  for (let i = 0; i < 64 * 45; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = seed >>> 24;
  }
  return Buffer.concat([header, data]);
}

function rmap(name: string, instrument: string, filekind: string, derivedFrom: string, refs: DemoReference[]): string {
  const byMode = new Map<string, DemoReference[]>();
  for (const r of refs) byMode.set(`('${r.detector}', '${r.ccdamp}')`, [...(byMode.get(`('${r.detector}', '${r.ccdamp}')`) ?? []), r]);
  const rows = [...byMode.entries()]
    .map(([mode, rs]) => `    ${mode} : UseAfter({\n${rs.map((r) => `        '${r.useafter}' : '${r.name}',\n`).join('')}    }),\n`)
    .join('');
  return `header = {
    'derived_from' : '${derivedFrom}',
    'filekind' : '${filekind}',
    'instrument' : '${instrument}',
    'mapping' : 'REFERENCE',
    'name' : '${name}',
    'observatory' : 'HST',
    'parkey' : (('DETECTOR', 'CCDAMP'), ('DATE-OBS', 'TIME-OBS')),
    'reffile_format' : 'IMAGE',
    'reffile_required' : 'YES',
    'reffile_switch' : '${filekind === 'FLSHFILE' ? 'FLSHCORR' : 'DARKCORR'}',
    'sha1sum' : '',
}

selector = Match({
${rows}})
`;
}

function imap(name: string, instrument: string, derivedFrom: string, rmaps: Record<string, string>): string {
  return `header = {
    'derived_from' : '${derivedFrom}',
    'instrument' : '${instrument}',
    'mapping' : 'INSTRUMENT',
    'name' : '${name}',
    'observatory' : 'HST',
    'parkey' : ('REFTYPE',),
    'sha1sum' : '',
}

selector = {
${Object.entries(rmaps).map(([k, v]) => `    '${k}' : '${v}',\n`).join('')}}
`;
}

function pmap(name: string, derivedFrom: string, imaps: Record<string, string>): string {
  return `header = {
    'derived_from' : '${derivedFrom}',
    'mapping' : 'PIPELINE',
    'name' : '${name}',
    'observatory' : 'HST',
    'parkey' : ('INSTRUME',),
    'sha1sum' : '',
}

selector = {
${Object.entries(imaps).map(([k, v]) => `    '${k}' : '${v}',\n`).join('')}}
`;
}

/** Every demo file: name → bytes. */
export function demoFiles(): { mappings: Record<string, string>; references: Record<string, Buffer> } {
  const pick = (instrument: string, filetype: string, except: string[] = []) =>
    REFERENCES.filter((r) => r.instrument === instrument && r.filetype === filetype && !except.includes(r.name));
  const raw: Record<string, string> = {
    'hst_acs_flshfile_0001.rmap': rmap('hst_acs_flshfile_0001.rmap', 'ACS', 'FLSHFILE', 'demo rules for the embedded CRDS server', pick('ACS', 'FLASH')),
    'hst_acs_darkfile_0001.rmap': rmap('hst_acs_darkfile_0001.rmap', 'ACS', 'DARKFILE', 'demo rules for the embedded CRDS server', pick('ACS', 'DARK', ['d1a1001cj_drk.fits'])),
    'hst_acs_darkfile_0002.rmap': rmap('hst_acs_darkfile_0002.rmap', 'ACS', 'DARKFILE', 'hst_acs_darkfile_0001.rmap', pick('ACS', 'DARK')),
    'hst_wfc3_flshfile_0001.rmap': rmap('hst_wfc3_flshfile_0001.rmap', 'WFC3', 'FLSHFILE', 'demo rules for the embedded CRDS server', pick('WFC3', 'FLASH')),
    'hst_wfc3_darkfile_0001.rmap': rmap('hst_wfc3_darkfile_0001.rmap', 'WFC3', 'DARKFILE', 'demo rules for the embedded CRDS server', pick('WFC3', 'DARK')),
    'hst_acs_0001.imap': imap('hst_acs_0001.imap', 'ACS', 'demo rules for the embedded CRDS server', { flshfile: 'hst_acs_flshfile_0001.rmap', darkfile: 'hst_acs_darkfile_0001.rmap' }),
    'hst_acs_0002.imap': imap('hst_acs_0002.imap', 'ACS', 'hst_acs_0001.imap', { flshfile: 'hst_acs_flshfile_0001.rmap', darkfile: 'hst_acs_darkfile_0002.rmap' }),
    'hst_wfc3_0001.imap': imap('hst_wfc3_0001.imap', 'WFC3', 'demo rules for the embedded CRDS server', { flshfile: 'hst_wfc3_flshfile_0001.rmap', darkfile: 'hst_wfc3_darkfile_0001.rmap' }),
    'hst_0001.pmap': pmap('hst_0001.pmap', 'demo rules for the embedded CRDS server', { ACS: 'hst_acs_0001.imap', WFC3: 'hst_wfc3_0001.imap' }),
    'hst_0002.pmap': pmap('hst_0002.pmap', 'hst_0001.pmap', { ACS: 'hst_acs_0002.imap', WFC3: 'hst_wfc3_0001.imap' }),
  };
  const mappings: Record<string, string> = {};
  for (const [name, text] of Object.entries(raw)) mappings[name] = rewriteChecksum(text, name);
  const references: Record<string, Buffer> = {};
  for (const r of REFERENCES) references[r.name] = demoFits(r);
  return { mappings, references };
}

export function writeDemoCache(root: string = DEMO_CACHE): void {
  const { mappings, references } = demoFiles();
  const mdir = path.join(root, 'mappings', 'hst');
  const rdir = path.join(root, 'references', 'hst');
  fs.mkdirSync(mdir, { recursive: true });
  fs.mkdirSync(rdir, { recursive: true });
  for (const [name, text] of Object.entries(mappings)) fs.writeFileSync(path.join(mdir, name), text);
  for (const [name, bytes] of Object.entries(references)) fs.writeFileSync(path.join(rdir, name), bytes);
}

if (require.main === module) {
  writeDemoCache();
  process.stdout.write(`demo site written to ${DEMO_CACHE}\n`);
}
