// Every real mapping file parses, builds and verifies its sha1sum; the few that the real
// library also rejects fail with the same reason.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listMappingFiles, mappingFromText } from '../../crds';
import { MAPPINGS } from '../support/paths';

// Known-bad files shipped inside crds-cache (the real library rejects them too).
const KNOWN_BAD: Record<string, RegExp> = {
  'hst_acs_darkfile_badexpr.rmap': /^Can't load file 'hst_acs_darkfile_badexpr.rmap' : invalid header expression '\(DETECTOR x= "SBC"\)'/,
  'hst_acs_darkfile_missing_key.rmap': /^Required header key 'mapping' is missing\.$/,
  'roman_wfi_epsf_0001.rmap': /^sha1sum mismatch in 'roman_wfi_epsf_0001.rmap'$/,
};

test('all mappings under crds-cache/mappings load with a verified checksum', () => {
  const files = listMappingFiles(MAPPINGS);
  expect(files.length).toBeGreaterThan(4700);
  const failures: Record<string, string> = {};
  for (const file of files) {
    try {
      mappingFromText(fs.readFileSync(file, 'utf8'), path.basename(file), undefined, { eager: true });
    } catch (exc) {
      failures[path.basename(file)] = (exc as Error).message;
    }
  }
  expect(Object.keys(failures).sort()).toEqual(Object.keys(KNOWN_BAD).sort());
  for (const [name, reason] of Object.entries(KNOWN_BAD)) expect(failures[name]).toMatch(reason);
}, 120_000);
