// Mapping certification order as the real MappingCertifier's: the mapping is built (required
// header keys), its checksum verified (a warning), then its properties and nested mappings
// are asked for. Real test mappings read in place under hst_0729.pmap.
import * as path from 'node:path';
import { certifyFile } from '../../crds/certify';
import { MappingStore } from '../../crds/mappings';
import { MAPPINGS, SHARED_DATA, TESTDATA } from '../support/paths';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
const HST = path.join(TESTDATA, 'hst');
const store = new MappingStore(MAPPINGS, { ignoreChecksum: 'warn' });
const findings = (name: string, observatory = 'hst'): string[] =>
  certifyFile(path.join(HST, name), { observatory, specsRoot: SPECS, store, context: 'hst_0729.pmap' })
    .findings.filter((f) => f.level !== 'INFO')
    .map((f) => `${f.level} ${f.message}`);

describe('mapping checksum warnings come before later failures', () => {
  it('a bad checksum is warned before the name that does not decompose fails the file', () => {
    const f = findings('hst-bad-xsum.rmap', 'jwst');
    expect(f[0]).toBe("WARNING Checksum error : sha1sum mismatch in 'hst-bad-xsum.rmap'");
    expect(f[1]).toMatch(/^ERROR Validation error : Failed to determine 'jwst' instrument or reftype for /);
  });
  it('a missing checksum is warned too', () => {
    expect(findings('hst-missing-xsum.rmap', 'jwst')[0]).toBe("WARNING Checksum error : sha1sum is missing in 'hst-missing-xsum.rmap'");
  });
  it('a nested mapping that cannot be loaded fails after the checksum warning', () => {
    const f = findings('hst_acs_0491.imap');
    expect(f[0]).toBe("WARNING Checksum error : sha1sum mismatch in 'hst_acs_0491.imap'");
    expect(f[1]).toMatch(/^ERROR Validation error : .*hst_acs_biasfile_0397\.rmap/);
  });
  it('a missing required header key fails before the checksum is looked at', () => {
    const f = findings('hst_acs_darkfile_missing_key.rmap');
    expect(f).toContain("ERROR Validation error : Required header key 'mapping' is missing.");
    expect(f.some((x) => /Checksum error/.test(x))).toBe(false);
  });
});
