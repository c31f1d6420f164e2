// File naming (crds-rules.md §4) on real names and the real type specs.
import * as path from 'node:path';
import {
  CrdsNamingError,
  MappingStore,
  TypeSpecs,
  cdbsInstrument,
  decomposeNewstyleName,
  getFileProperties,
  listMappingNames,
  mappingSeries,
  nextMappingName,
} from '../../crds';
import { MAPPINGS, SHARED_DATA } from '../support/paths';

const hstSpecs = TypeSpecs.fromFile('hst', path.join(SHARED_DATA, 'crds-specs', 'hst', 'specs', 'combined_specs.json'));
const jwstSpecs = TypeSpecs.fromFile('jwst', path.join(SHARED_DATA, 'crds-specs', 'jwst', 'specs', 'combined_specs.json'));

test('decomposeNewstyleName', () => {
  expect(decomposeNewstyleName('hst.pmap')).toEqual({ observatory: 'hst', instrument: '', filekind: '', serial: '', ext: '.pmap' });
  expect(decomposeNewstyleName('./hst_0729.pmap')).toMatchObject({ serial: '0729' });
  expect(decomposeNewstyleName('hst_acs_0421.imap')).toMatchObject({ instrument: 'acs', serial: '0421' });
  expect(decomposeNewstyleName('jwst_nircam_pars-tweakregstep_0003.rmap')).toMatchObject({ instrument: 'nircam', filekind: 'pars-tweakregstep', serial: '0003' });
  expect(decomposeNewstyleName('jwst_miri_flat_0242.fits')).toMatchObject({ instrument: 'miri', filekind: 'flat', ext: '.fits' });
  expect(() => decomposeNewstyleName('hst_acs_biasfile_0001_x.rmap')).toThrow(CrdsNamingError);
});

test('getFileProperties of mappings and references', () => {
  expect(getFileProperties('hst', 'hst_acs_darkfile_0363.rmap', { specs: hstSpecs })).toEqual({ instrument: 'acs', filekind: 'darkfile' });
  expect(getFileProperties('jwst', 'jwst_miri_flat_0242.fits', { specs: jwstSpecs })).toEqual({ instrument: 'miri', filekind: 'flat' });
  expect(getFileProperties('hst', 'lcb12060j_drk.fits', { specs: hstSpecs })).toEqual({ instrument: 'acs', filekind: 'darkfile' });
  expect(getFileProperties('hst', 's7g1700gl_dead.fits', { specs: hstSpecs })).toEqual({ instrument: 'cos', filekind: 'deadtab' });
  expect(getFileProperties('hst', 'acs_block1_002_syn.fits', { specs: hstSpecs })).toEqual({ instrument: 'synphot', filekind: 'thruput' });
  expect(getFileProperties('hst', 'dbu1405fu.r1h', { specs: hstSpecs })).toEqual({ instrument: 'wfpc2', filekind: 'atodfile' });
  // an odd mapping name falls back to its header
  const store = new MappingStore(path.join(SHARED_DATA, 'crds-testdata'));
  expect(getFileProperties('hst', 'hst/synphot_thruput.rmap', { specs: hstSpecs, store })).toEqual({ instrument: 'synphot', filekind: 'thruput' });
  expect(() => getFileProperties('hst', 'foobar.fits', { specs: hstSpecs })).toThrow("Cannot determine instrument for filename 'foobar.fits'");
  expect(cdbsInstrument('zas1615jl_spot.fits')).toBe('cos');
});

test('every rmap in hst_0729 names its own instrument and type', () => {
  const p = new MappingStore(MAPPINGS).loadContext('hst_0729.pmap');
  for (const name of p.mappingNames().filter((n) => n.endsWith('.rmap'))) {
    const props = getFileProperties('hst', name, { specs: hstSpecs });
    expect(props.instrument).toBe(name.split('_')[1]);
  }
});

test('reference names of the context map back to their rmap type', () => {
  const store = new MappingStore(MAPPINGS);
  const imap = store.loadContext('hst_0729.pmap').getImap('cos');
  for (const filekind of ['deadtab', 'flatfile', 'hvtab']) {
    for (const ref of imap.getRmap(filekind).referenceNames()) {
      expect([ref, getFileProperties('hst', ref, { specs: hstSpecs })]).toEqual([ref, { instrument: 'cos', filekind }]);
    }
  }
});

test('next serial names', () => {
  const existing = listMappingNames(MAPPINGS, 'hst');
  expect(nextMappingName('hst_0729.pmap', existing)).toBe('hst_0730.pmap');
  expect(nextMappingName('hst_acs_darkfile_0363.rmap', existing)).toBe(
    `hst_acs_darkfile_${String(Math.max(...existing.filter((n) => /^hst_acs_darkfile_\d{4}\.rmap$/.test(n)).map((n) => Number(n.slice(17, 21)))) + 1).padStart(4, '0')}.rmap`,
  );
  expect(nextMappingName('hst_acs.imap', [])).toBe('hst_acs_0001.imap');
  expect(mappingSeries('jwst_nircam_pars-tweakregstep_0003.rmap')).toEqual({ series: 'jwst_nircam_pars-tweakregstep', serial: 3, ext: '.rmap' });
  expect(() => mappingSeries('lcb12060j_drk.fits')).toThrow(CrdsNamingError);
});
