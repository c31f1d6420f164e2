// Mapping certification order as the real MappingCertifier's: the mapping is built (required
// header keys), its checksum verified (a warning), then its properties and nested mappings
// are asked for. Real test mappings read in place under hst_0729.pmap.
import * as path from 'node:path';
import { certifyFile } from '../../crds/certify';
import { classifyName, newerName } from '../../crds/certify/mapping';
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

describe('time order of names (naming.newer) and the equivalent mapping', () => {
  it('follows the real doctests', () => {
    const cases: [string, string, boolean][] = [
      ['s7g1700gl_dead.fits', 'hst_cos_deadtab_0001.fits', false],
      ['hst_cos_deadtab_0001.fits', 's7g1700gl_dead.fits', true],
      ['s7g1700gl_dead.fits', 'bbbbb.fits', true],
      ['bbbbb.fits', 's7g1700gl_dead.fits', false],
      ['hst_cos_deadtab_0002.rmap', 'hst_cos_deadtab_0001.rmap', true],
      ['hst_cos_deadtab_0001.asdf', 'hst_cos_deadtab_0050.fits', true],
      ['hst_cos_deadtab_0051.fits', 'hst_cos_deadtab_0050.asdf', false],
      ['hst_cos_deadtab_99991.fits', 'hst_cos_deadtab_0001.fits', true],
      ['07g1700gl_dead.fits', 's7g1700gl_dead.fits', true],
      ['s7g1700gl_dead.fits', '07g1700gl_dead.fits', false],
      ['N/A', 's7g1700gl_dead.fits', false],
      ['07g1700gl_dead.fits', 'N/A', true],
      ['16n1832tm_tmc.fits', '06n1832tm_tmc.fits', true],
      ['s7g1700gm_dead.fits', 's7g1700gl_dead.fits', true], // whole CDBS names compare as strings
    ];
    for (const [a, b, want] of cases) expect([a, b, newerName(a, b)]).toEqual([a, b, want]);
    expect(classifyName('z6n1832tm_tmc.fits')).toBe('oldsynphot');
  });
  it('warns about names it cannot classify and fails on kind pairs the real function does not handle', () => {
    const warnings: string[] = [];
    const log = { error: () => undefined, warning: (m: string) => warnings.push(m), info: () => undefined };
    expect(newerName('OMIT', 'jwst_miri_flat_0038.rmap', log)).toBe(false);
    expect(warnings).toEqual(["Failed to classify name 'OMIT' for determining time order."]);
    expect(() => newerName('hst_cos_deadtab_0001.fits', '16n1832tm_tmg.fits', log)).toThrow(/result/);
    expect(warnings.pop()).toBe("Unhandled name comparison case:  ('crds', 'newsynphot')");
  });
  it('an rmap whose type the context lacks has no equivalent (warned), and a replacement by a later CDBS name is no reversion', () => {
    expect(findings('hst_cos_walktab.rmap')).toContain(`WARNING No equivalent filekind in 'hst_cos_0306.imap' corresponding to '${path.join(HST, 'hst_cos_walktab.rmap')}'`);
    expect(findings('hst_cos_deadtab_9999.rmap')).toEqual([]);
  });
  it('a name whose type is not the observatory\'s falls back to the header, which needs a valid checksum', () => {
    const f = findings('hst_cos_dup.rmap');
    expect(f).toContain("WARNING Checksum error : sha1sum mismatch in 'hst_cos_dup.rmap'");
    expect(f.some((x) => x.startsWith("ERROR Validation error : Failed to determine 'hst' instrument or reftype"))).toBe(true);
  });
});
