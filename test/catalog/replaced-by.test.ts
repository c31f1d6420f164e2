// Making a context latest records, on each reference its rules replaced, the file that
// replaced it (replaced_by_filename), as get_file_info shows it. The fixture is built here
// from the demo site: hst_0003.pmap (written with real checksums) replaces the ACS HRC dark
// d1a1001bj_drk.fits by a new d1a1001dj_drk.fits, and adds nothing else.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mappingChecksum } from '../../crds/checksum';
import { replacedReferences, setDefaultContext } from '../../db/catalog';
import { DEMO_CACHE, startSite, type Site } from '../jsonrpc/site';

jest.setTimeout(120_000);

let site: Site;
let fixture: string;

/** Writes `name` from mapping `from` with the text replacements made and a real sha1sum. */
function derive(dir: string, from: string, name: string, replacements: [string, string][]): void {
  let text = fs.readFileSync(path.join(dir, from), 'utf8');
  for (const [a, b] of [[`'name' : '${from}'`, `'name' : '${name}'`], ...replacements] as [string, string][]) {
    if (!text.includes(a)) throw new Error(`fixture: ${from} has no ${a}`);
    text = text.split(a).join(b);
  }
  text = text.replace(/'derived_from' : '[^']*'/, `'derived_from' : '${from}'`);
  text = text.replace(/'sha1sum' : '[0-9a-f]+'/, `'sha1sum' : '${mappingChecksum(text)}'`);
  fs.writeFileSync(path.join(dir, name), text);
}

beforeAll(async () => {
  fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-replaced-'));
  fs.cpSync(DEMO_CACHE, fixture, { recursive: true });
  const mappings = path.join(fixture, 'mappings', 'hst');
  const references = path.join(fixture, 'references', 'hst');
  // A new reference: the old dark with one more (blank) FITS block, so its checksum differs.
  fs.writeFileSync(path.join(references, 'd1a1001dj_drk.fits'), Buffer.concat([fs.readFileSync(path.join(references, 'd1a1001bj_drk.fits')), Buffer.alloc(2880)]));
  derive(mappings, 'hst_acs_darkfile_0002.rmap', 'hst_acs_darkfile_0003.rmap', [["'d1a1001bj_drk.fits'", "'d1a1001dj_drk.fits'"]]);
  derive(mappings, 'hst_acs_0002.imap', 'hst_acs_0003.imap', [["'hst_acs_darkfile_0002.rmap'", "'hst_acs_darkfile_0003.rmap'"]]);
  derive(mappings, 'hst_0002.pmap', 'hst_0003.pmap', [["'hst_acs_0002.imap'", "'hst_acs_0003.imap'"]]);
  site = await startSite({ observatory: 'hst', source: fixture, contexts: { latest: 'hst_0002.pmap', edit: 'hst_0003.pmap' } });
});
afterAll(async () => {
  await site?.close();
  if (fixture) fs.rmSync(fixture, { recursive: true, force: true });
});

const replacedBy = async (name: string) => (await site.rpc<Record<string, string>>('get_file_info', 'hst', name)).replaced_by_filename;
const mappingsDir = () => path.join(site.fileCache, 'mappings', 'hst');

it('diffs the contexts: only the rule that changed a file counts (an added useafter does not)', () => {
  expect([...replacedReferences(mappingsDir(), 'hst_0002.pmap', 'hst_0003.pmap')]).toEqual([['d1a1001bj_drk.fits', 'd1a1001dj_drk.fits']]);
  expect([...replacedReferences(mappingsDir(), 'hst_0001.pmap', 'hst_0002.pmap')]).toEqual([]);
  expect([...replacedReferences(mappingsDir(), 'hst_0003.pmap', 'hst_0002.pmap')]).toEqual([['d1a1001dj_drk.fits', 'd1a1001bj_drk.fits']]);
});

it('setting the latest context records replaced_by_filename on the replaced reference only', async () => {
  expect(await replacedBy('d1a1001bj_drk.fits')).toBe('');
  // Asked before the change too: get_file_info_map's answers are kept per catalog snapshot,
  // so this also checks that a catalog change is never answered from the old snapshot.
  const ask = () => site.rpcEnvelope('get_file_info_map', ['hst', ['d1a1001bj_drk.fits', 'd1a1001dj_drk.fits'], ['state', 'replaced_by_filename']]);
  const [first, second] = [await ask(), await ask()];
  expect(first.id).not.toEqual(second.id);
  expect(first.result).toEqual({ 'd1a1001bj_drk.fits': { state: 'latest', replaced_by_filename: '' }, 'd1a1001dj_drk.fits': { state: 'archived', replaced_by_filename: '' } });
  expect(second.result).toEqual(first.result);
  const changed = await setDefaultContext(site.db, { state: 'latest', context: 'hst_0003.pmap', username: 'test', description: 'new HRC dark', mappingsDir: mappingsDir() });
  expect(changed).toBe(true);
  expect(await replacedBy('d1a1001bj_drk.fits')).toBe('d1a1001dj_drk.fits');
  expect(await replacedBy('d1a1001dj_drk.fits')).toBe('');
  expect(await replacedBy('d1a1001aj_drk.fits')).toBe('');
  const info = await site.rpc<Record<string, Record<string, string>>>('get_file_info_map', 'hst', ['d1a1001bj_drk.fits', 'd1a1001dj_drk.fits'], ['state', 'replaced_by_filename']);
  expect(info).toEqual({
    'd1a1001bj_drk.fits': { state: 'archived', replaced_by_filename: 'd1a1001dj_drk.fits' },
    'd1a1001dj_drk.fits': { state: 'latest', replaced_by_filename: '' },
  });
});

it('the edit context changing records nothing; going back to the old context records the reverse', async () => {
  await setDefaultContext(site.db, { state: 'edit', context: 'hst_0002.pmap', username: 'test', description: 'edit back', mappingsDir: mappingsDir() });
  expect(await replacedBy('d1a1001dj_drk.fits')).toBe('');
  await setDefaultContext(site.db, { state: 'latest', context: 'hst_0002.pmap', username: 'test', description: 'roll back', mappingsDir: mappingsDir() });
  expect(await replacedBy('d1a1001dj_drk.fits')).toBe('d1a1001bj_drk.fits');
});
