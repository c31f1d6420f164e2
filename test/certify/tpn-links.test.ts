// The .tpn loader follows link files: the real package's `*_ld.tpn` symlinks, stored by a
// checkout without symlink support as one-line files naming their target (as in the shared
// JWST specs, read in place here).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTpn, TpnDefinitionError } from '../../crds/certify/tpn';
import { SHARED_DATA } from '../support/paths';

const JWST_TPNS = path.join(SHARED_DATA, 'crds-specs', 'jwst', 'tpns');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tpn-links-'));
  fs.mkdirSync(path.join(tmp, 'tpns'));
  const put = (name: string, text: string): void => fs.writeFileSync(path.join(tmp, 'tpns', name), text);
  put('a.tpn', 'KEY   H   C   R   X,Y\n');
  put('a_ld.tpn', 'a.tpn');
  put('b_ld.tpn', 'a_ld.tpn\n'); // a link to a link
  put('loop1.tpn', 'loop2.tpn');
  put('loop2.tpn', 'loop1.tpn');
  put('missing_ld.tpn', 'nothere.tpn');
  fs.writeFileSync(path.join(tmp, 'outside.tpn'), 'KEY   H   C   R   Z\n');
  put('escape_ld.tpn', '../outside.tpn');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tpn = (name: string): string => path.join(tmp, 'tpns', name);

it("reads the shared JWST `*_ld.tpn` link files as their targets", () => {
  expect(fs.readFileSync(path.join(JWST_TPNS, 'all_all_ld.tpn'), 'utf8').trim()).toBe('all_all.tpn');
  const target = loadTpn(path.join(JWST_TPNS, 'all_all.tpn'));
  expect(target.length).toBeGreaterThan(0);
  expect(loadTpn(path.join(JWST_TPNS, 'all_all_ld.tpn'))).toEqual(target);
});

it('follows links and links to links in the same folder', () => {
  const values = [{ name: 'KEY', keytype: 'H', datatype: 'C', presence: 'R', values: ['X', 'Y'] }];
  expect(loadTpn(tpn('a_ld.tpn'))).toEqual(values);
  expect(loadTpn(tpn('b_ld.tpn'))).toEqual(values);
});

it('refuses cycles, and reads a missing target or a path out of the folder as a malformed line', () => {
  expect(() => loadTpn(tpn('loop1.tpn'))).toThrow(TpnDefinitionError);
  expect(() => loadTpn(tpn('missing_ld.tpn'))).toThrow(/not enough values to unpack/);
  expect(() => loadTpn(tpn('escape_ld.tpn'))).toThrow(/not enough values to unpack/);
});
