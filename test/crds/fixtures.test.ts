// The deliberately broken mapping fixtures of the real client's tests each fail with a
// clear, specific reason.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findDuplicateKeys, mappingFromText, parseMapping } from '../../crds';
import { TESTDATA } from '../support/paths';

function loadError(rel: string): string {
  const file = path.join(TESTDATA, rel);
  try {
    mappingFromText(fs.readFileSync(file, 'utf8'), path.basename(file), undefined, { eager: true });
  } catch (exc) {
    return (exc as Error).message;
  }
  return 'loaded';
}

test.each([
  ['hst/hst-bad-xsum.rmap', "sha1sum mismatch in 'hst-bad-xsum.rmap'"],
  ['hst/hst-missing-xsum.rmap', "sha1sum is missing in 'hst-missing-xsum.rmap'"],
  ['hst/hst_acs_darkfile_missing_key.rmap', "Required header key 'mapping' is missing."],
  ['hst/hst_missing_parkey.rmap', "Can't load file hst_missing_parkey.rmap : 'parkey'"],
  ['hst/hst_acs_0491.imap', "sha1sum mismatch in 'hst_acs_0491.imap'"],
  ['hst/hst_acs_atodtab_0251.rmap', "sha1sum mismatch in 'hst_acs_atodtab_0251.rmap'"],
  ['jwst/jwst_miri_ipc_0002.rmap', "sha1sum mismatch in 'jwst_miri_ipc_0002.rmap'"],
])('%s fails: %s', (rel, message) => {
  expect(loadError(rel)).toBe(message);
});

test('a bad header expression names the file, the expression and the position', () => {
  expect(loadError('hst/hst_acs_darkfile_badexpr.rmap')).toBe(
    `Can't load file 'hst_acs_darkfile_badexpr.rmap' : invalid header expression '(DETECTOR x= "SBC")': illegal character "=" at column 12`,
  );
});

test.each([
  ['hst/hst_cos_dup.rmap', 1, /^Duplicate entry at selector Match\(\('FUV',\)\) '1996-10-01 00:00:00' = 's7g1700gl_dead_dup2.fits' vs\. 's7g1700gl_dead_dup1.fits' \(line 20, first at line 19\)$/],
  ['hst/hst_cos_tdstab_duplicate.rmap', 1, /^Duplicate entry at selector \('FUV', 'SPECTROSCOPIC'\) = UseAfter/],
  ['roman/roman_wfi_flat_0004_duplicate.rmap', 1, /^Duplicate entry at selector \('WFI01', 'F158'\)/],
  // loads (Python keeps the last value) but certify must report both
  ['hst/hst_acs_darkfile.rmap', 2, /^Duplicate entry at header 'name' = 'hst_something_else.rmap' vs\. 'hst_acs_darkfile.rmap' \(line 9, first at line 6\)$/],
])('%s has %i duplicate key(s)', (rel, count, message) => {
  const dups = findDuplicateKeys(parseMapping(fs.readFileSync(path.join(TESTDATA, rel), 'utf8'), rel));
  expect(dups).toHaveLength(count);
  expect(dups[0].message).toMatch(message);
});

test('every other fixture mapping loads (and has no duplicate keys but the one above)', () => {
  const broken = new Set([
    'hst-bad-xsum.rmap', 'hst-missing-xsum.rmap', 'hst_acs_darkfile_missing_key.rmap', 'hst_missing_parkey.rmap',
    'hst_acs_0491.imap', 'hst_acs_atodtab_0251.rmap', 'jwst_miri_ipc_0002.rmap', 'hst_acs_darkfile_badexpr.rmap',
    'hst_cos_dup.rmap', 'hst_cos_tdstab_duplicate.rmap', 'roman_wfi_flat_0004_duplicate.rmap',
  ]);
  const loaded: string[] = [];
  for (const obs of ['hst', 'jwst', 'roman']) {
    for (const name of fs.readdirSync(path.join(TESTDATA, obs))) {
      if (!/\.[pir]map$/.test(name) || broken.has(name)) continue;
      expect([name, loadError(path.join(obs, name))]).toEqual([name, 'loaded']);
      if (name !== 'hst_acs_darkfile.rmap') {
        expect(findDuplicateKeys(parseMapping(fs.readFileSync(path.join(TESTDATA, obs, name), 'utf8'), name))).toEqual([]);
      }
      loaded.push(name);
    }
  }
  expect(loaded.length).toBeGreaterThan(140);
});
