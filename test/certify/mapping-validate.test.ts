// validate_mapping as certify runs it (crds/certify/mapping_validate.ts), on variants of the
// demo site's rules checked against the demo specs: header consistency between nested
// mappings, _ld.tpn values in their plain, or-glob, NOT, BETWEEN and #..# forms, equal-weight
// ambiguity, UseAfter dates. (The differential test compares the same checks with the real
// tool on the real rules.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certifyFile } from '../../crds/certify';
import { REPO_ROOT } from '../support/paths';

const SPECS = path.join(REPO_ROOT, 'config', 'demo', 'specs');
const DEMO = path.join(REPO_ROOT, 'config', 'demo', 'cache', 'mappings', 'hst');
const RMAP = fs.readFileSync(path.join(DEMO, 'hst_acs_darkfile_0001.rmap'), 'utf8');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mapping-validate-'));
  for (const f of fs.readdirSync(DEMO)) fs.copyFileSync(path.join(DEMO, f), path.join(tmp, f));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Certify `text` written as `name` in a copy of the demo mappings; the ERROR messages. */
function errors(name: string, text: string): string[] {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  const r = certifyFile(file, { specsRoot: SPECS, mappingsDir: tmp });
  return r.findings.filter((f) => f.level === 'ERROR').map((f) => f.message);
}

const withRow = (key: string, extraHeader = ''): string =>
  RMAP.replace("    'sha1sum'", `${extraHeader}    'sha1sum'`).replace("selector = Match({\n", `selector = Match({\n    ${key} : UseAfter({\n        '2005-01-01 00:00:00' : 'x_drk.fits',\n    }),\n`);

describe('certify: validate_mapping', () => {
  it('passes the demo rules', () => {
    for (const f of fs.readdirSync(DEMO)) expect([f, errors(f, fs.readFileSync(path.join(DEMO, f), 'utf8'))]).toEqual([f, []]);
  });

  it('checks match values against the _ld.tpn values in all their forms', () => {
    // (between / #..# / {..} forms are "esoteric" and exempt in the real tool, whatever their operands)
    const ok = ["('HRC|WFC', 'A')", "('NOT HRC', 'B')", "('WFC', 'between 1 9')", "('#anything#', 'C')", "('*', 'N/A')", "('ANY', 'ABCD')"];
    for (const key of ok) expect([key, errors('hst_acs_darkfile_0001.rmap', withRow(key))]).toEqual([key, []]);
    const bad: [string, RegExp][] = [
      ["('HRC|SBC', 'A')", /parameter='DETECTOR' value='SBC' is not in/],
      ["('NOT SBC', 'A')", /parameter='DETECTOR' value='SBC' is not in/],
      ["('WFC', 'A|Q')", /parameter='CCDAMP' value='Q' is not in/],
    ];
    for (const [key, re] of bad) {
      const e = errors('hst_acs_darkfile_0001.rmap', withRow(key));
      expect([key, e.length]).toEqual([key, 1]);
      expect(e[0]).toMatch(/^Match\('DETECTOR', 'CCDAMP'\) : /);
      expect(e[0]).toMatch(re);
    }
  });

  it('reports equal-weight ambiguity unless HST merges overlaps', () => {
    const overlap = "('HRC', 'A|C')"; // ('HRC', 'C') is a special case of it
    expect(errors('hst_acs_darkfile_0001.rmap', withRow(overlap))).toEqual([]);
    const e = errors('hst_acs_darkfile_0001.rmap', withRow(overlap, "    'merge_overlaps' : 'False',\n"));
    expect(e).toEqual([expect.stringMatching(/^Match\('DETECTOR', 'CCDAMP'\) : \('HRC', 'C'\) : \n-+\nMatch case\n\('HRC', 'C'\)\nis an equal weight special case of\n\('HRC', 'A\|C'\)/)]);
    // a different weight (N/A) is no ambiguity
    expect(errors('hst_acs_darkfile_0001.rmap', withRow("('HRC', 'N/A')", "    'merge_overlaps' : 'False',\n"))).toEqual([]);
  });

  it('checks UseAfter dates and the parkey / classes shape', () => {
    const bad = RMAP.replace("'2002-03-01 00:00:00' : 'd1a1001bj_drk.fits'", "'2002-13-01 00:00:00' : 'd1a1001bj_drk.fits'");
    expect(errors('hst_acs_darkfile_0001.rmap', bad)).toEqual([expect.stringMatching(/^UseAfter\('DATE-OBS', 'TIME-OBS'\) : '2002-13-01 00:00:00' : UseAfter Invalid date\/time format/)]);
    const shape = RMAP.replace("    'sha1sum'", "    'classes' : ('Match',),\n    'sha1sum'");
    expect(errors('hst_acs_darkfile_0001.rmap', shape).some((m) => /Length mismatch between rmap parkey: 2 and rmap classes header fields \('Match',\)/.test(m))).toBe(true);
  });

  it('checks the header consistency of nested mappings', () => {
    const imap = fs.readFileSync(path.join(DEMO, 'hst_acs_0001.imap'), 'utf8').replace("'darkfile' : 'hst_acs_darkfile_0001.rmap'", "'darkfile' : 'hst_acs_flshfile_0001.rmap'");
    expect(errors('hst_acs_0009.imap', imap.replace("'name' : 'hst_acs_0001.imap'", "'name' : 'hst_acs_0009.imap'"))).toEqual([
      expect.stringMatching(/^Validation error : selector\['filekind'\]='darkfile' in '.*hst_acs_0009.imap' doesn't match header\['filekind'\]='flshfile' in nested file/),
    ]);
    const pmap = fs.readFileSync(path.join(DEMO, 'hst_0001.pmap'), 'utf8').replace("'WFC3' : 'hst_wfc3_0001.imap'", "'WFC3' : 'hst_acs_0001.imap'");
    expect(errors('hst_0009.pmap', pmap.replace("'name' : 'hst_0001.pmap'", "'name' : 'hst_0009.pmap'"))).toEqual([
      expect.stringMatching(/^Validation error : selector\['instrument'\]='wfc3' in .* doesn't match header\['instrument'\]='acs'/),
    ]);
    const rmap = RMAP.replace("'instrument' : 'ACS'", "'instrument' : 'NICMOS'");
    expect(errors('hst_acs_darkfile_0001.rmap', rmap)).toEqual([expect.stringMatching(/^Validation error : Invalid instrument 'nicmos'/)]);
  });
});
