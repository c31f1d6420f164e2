// ops/manage bestrefs and check-mappings, run as real processes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAPPINGS, REPO_ROOT, TESTDATA } from '../support/paths';

function manage(...args: string[]) {
  const run = spawnSync(path.join(REPO_ROOT, 'ops', 'manage'), args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-ops-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('ops/manage bestrefs', () => {
  test('answers per dataset, types filtered, errors per dataset', () => {
    const headers = path.join(tmp, 'headers.json');
    fs.writeFileSync(
      headers,
      JSON.stringify({
        'J8BT05NJQ:J8BT05NJQ': { INSTRUME: 'ACS', DETECTOR: 'HRC', CCDAMP: 'D', CCDGAIN: 2.0, DARKCORR: 'PERFORM', 'DATE-OBS': '1995-01-01', 'TIME-OBS': '00:00:00' },
        tooEarly: { INSTRUME: 'ACS', DETECTOR: 'HRC', CCDAMP: 'D', CCDGAIN: '2.0', 'DATE-OBS': '1990-06-01', 'TIME-OBS': '00:00:00' },
        noInstrument: { DETECTOR: 'HRC' },
      }),
    );
    const run = manage('bestrefs', '--mappings', MAPPINGS, '--context', 'hst_0729.pmap', '--reftypes', 'darkfile,foo', '--headers', headers);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      'J8BT05NJQ:J8BT05NJQ': { darkfile: 'lcb12060j_drk.fits', foo: "NOT FOUND Unknown reference type 'foo'" },
      tooEarly: { darkfile: 'NOT FOUND No match found.', foo: "NOT FOUND Unknown reference type 'foo'" },
      noInstrument: { ERROR: "Missing 'INSTRUME' keyword in header for determining instrument." },
    });
    expect(run.status).toBe(1); // one dataset could not be looked up at all
  });

  test('all types when none are named; exit 0', () => {
    const headers = path.join(tmp, 'one.json');
    fs.writeFileSync(headers, JSON.stringify({ d: { INSTRUME: 'COS', DETECTOR: 'FUV', 'DATE-OBS': '2010-01-01', 'TIME-OBS': '00:00:00' } }));
    const run = manage('bestrefs', '--mappings', MAPPINGS, '--context', 'hst_0729.pmap', '--headers', headers);
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout).d;
    expect(Object.keys(out).length).toBeGreaterThan(20);
    expect(out.deadtab).toBe('s7g1700gl_dead.fits');
  });

  test('usage errors', () => {
    expect(manage('bestrefs', '--mappings', MAPPINGS).status).toBe(2);
    const missing = manage('bestrefs', '--mappings', MAPPINGS, '--context', 'hst_9999.pmap', '--headers', '/nonexistent.json');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read headers from '\/nonexistent.json'/);
  });
});

describe('ops/manage check-mappings', () => {
  test('named real mappings pass', () => {
    const run = manage('check-mappings', '--mappings', MAPPINGS, 'hst_0729.pmap', 'jwst_miri_flat_0038.rmap');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^2 mappings checked, 2 ok, 0 failed/m);
  });

  test('the broken fixtures: one line each with the reason, a summary, exit 1', () => {
    const run = manage('check-mappings', '--mappings', TESTDATA, '--duplicates');
    expect(run.status).toBe(1);
    const lines = run.stdout.trim().split('\n');
    const failures = lines.filter((l) => l.startsWith('FAIL '));
    expect(failures).toEqual(
      expect.arrayContaining([
        "FAIL hst-bad-xsum.rmap: sha1sum mismatch in 'hst-bad-xsum.rmap'",
        "FAIL hst-missing-xsum.rmap: sha1sum is missing in 'hst-missing-xsum.rmap'",
        "FAIL hst_acs_darkfile_missing_key.rmap: Duplicate entry at header 'name' = 'hst_something_else.rmap' vs. 'hst_acs_darkfile.rmap' (line 8, first at line 5)",
        "FAIL hst_missing_parkey.rmap: Can't load file hst_missing_parkey.rmap : 'parkey'",
      ]),
    );
    expect(failures.length).toBe(12); // 11 broken + hst_acs_darkfile.rmap's duplicate keys (--duplicates)
    expect(lines[lines.length - 1]).toMatch(/^\d+ mappings checked, \d+ ok, 12 failed \(/);
  });

  test('an unknown name is reported', () => {
    const run = manage('check-mappings', '--mappings', MAPPINGS, 'nonesuch_0001.rmap');
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('FAIL nonesuch_0001.rmap: not found in');
  });
});
