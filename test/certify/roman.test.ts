// Roman: the locator's reference_keys_to_dataset_keys (pattern keywords, SSC headers, the
// USEAFTER as ROMAN.META.EXPOSURE.START_TIME) in certify and in the group check's trial
// insertion. Real Roman files of the shared test data, read in place, under roman_0004.pmap.
import * as path from 'node:path';
import { certifyFile, checkGroup } from '../../crds/certify';
import { romanReferenceKeysToDatasetKeys } from '../../crds/certify/reference';
import { pformatHeader } from '../../crds/certify/group';
import { MappingStore } from '../../crds/mappings';
import { MAPPINGS, SHARED_DATA, TESTDATA } from '../support/paths';

const SPECS = path.join(SHARED_DATA, 'crds-specs');
const ROMAN = path.join(TESTDATA, 'roman');
const store = new MappingStore(MAPPINGS, { ignoreChecksum: 'warn' });
const options = { observatory: 'roman', specsRoot: SPECS, store, context: 'roman_0004.pmap' };
const keys = (h: Map<string, string | string[]>): Record<string, string | string[]> => Object.fromEntries(h);

describe('roman reference_keys_to_dataset_keys', () => {
  it('adds a translation from the rmap, defaults SUBARRAY.NAME and EXPOSURE.TYPE (the real doctest)', () => {
    expect(keys(romanReferenceKeysToDatasetKeys(new Map([['MOUSE', 'MICKEY'], ['RAT', 'MORTIMER']]), 'roman_wfi_flat_0004.rmap', { MOUSE: 'RAT' }))).toEqual({
      MOUSE: 'MICKEY',
      RAT: 'MICKEY',
      'ROMAN.META.SUBARRAY.NAME': 'UNDEFINED',
      'ROMAN.META.EXPOSURE.TYPE': 'UNDEFINED',
    });
  });
  it('takes pattern values that are defined, upper-cased; keeps concrete ones', () => {
    const h = romanReferenceKeysToDatasetKeys(
      new Map([
        ['ROMAN.META.INSTRUMENT.P_DETECTOR', 'wfi01|wfi02'],
        ['ROMAN.META.EXPOSURE.P_EXPTYPE', 'UNDEFINED'],
        ['ROMAN.META.EXPOSURE.TYPE', 'WFI_IMAGE'],
      ]),
      'roman_wfi_flat_0004.rmap',
      {},
    );
    expect(h.get('ROMAN.META.INSTRUMENT.DETECTOR')).toBe('WFI01|WFI02');
    expect(h.get('ROMAN.META.EXPOSURE.TYPE')).toBe('WFI_IMAGE');
  });
  it('sets ROMAN.META.EXPOSURE.START_TIME from the USEAFTER; a malformed one fails', () => {
    const h = romanReferenceKeysToDatasetKeys(new Map([['ROMAN.META.USEAFTER', '2020-01-01T00:00:00.000']]), 'roman_wfi_flat_0004.rmap', {});
    expect(h.get('ROMAN.META.EXPOSURE.START_TIME')).toBe('2020-01-01 00:00:00');
    expect(() => romanReferenceKeysToDatasetKeys(new Map([['ROMAN.META.USEAFTER', 'yesterday']]), 'roman_wfi_flat_0004.rmap', {})).toThrow("Bad USEAFTER time format = 'yesterday'");
  });
  it('parameter reference types (a - in the rmap name) use META, not ROMAN.META', () => {
    const h = romanReferenceKeysToDatasetKeys(new Map([['META.INSTRUMENT.P_DETECTOR', 'wfi01']]), 'roman_wfi_pars-jumpstep_0001.rmap', {});
    expect(h.get('META.INSTRUMENT.DETECTOR')).toBe('WFI01');
    expect(h.has('META.SUBARRAY.NAME')).toBe(true);
  });
  it('re-roots SSC headers under ROMAN.META and derives the exposure type; 18 detectors become N/A', () => {
    const detectors = Array.from({ length: 18 }, (_, i) => `WFI${String(i + 1).padStart(2, '0')}`).join(',');
    const h = romanReferenceKeysToDatasetKeys(
      new Map([
        ['META.ORIGIN', 'IPAC/SSC'],
        ['META.INSTRUMENT', 'wfi'],
        ['META.OPTICAL_ELEMENT', 'f158'],
        ['META.DETECTOR', detectors],
        ['OTHER', 'dropped'],
      ]),
      'roman_wfi_flat_0004.rmap',
      {},
    );
    expect(h.get('ROMAN.META.INSTRUMENT.NAME')).toBe('WFI');
    expect(h.get('ROMAN.META.EXPOSURE.TYPE')).toBe('WFI_F158');
    expect(h.get('ROMAN.META.INSTRUMENT.DETECTOR')).toBe('N/A');
    expect(h.has('OTHER')).toBe(false);
  });
});

describe('roman certify and group check with the dataset keywords', () => {
  it('a malformed USEAFTER is reported as the real tool does and the rest is still checked', () => {
    const r = certifyFile(path.join(ROMAN, 'roman_wfi16_f158_flat_invalid_schema.asdf'), options);
    expect(r.findings.filter((f) => f.level === 'ERROR').map((f) => f.message)).toEqual([
      "Error mapping reference names and values to dataset names and values : Bad USEAFTER time format = 'yesterday'",
    ]);
  });
  it('the trial insertion places a valid flat by detector, optical element and start time', () => {
    const file = path.join(ROMAN, 'roman_wfi16_f158_flat_small.asdf');
    expect(certifyFile(file, options).errors).toBe(0);
    const g = checkGroup([file], options);
    expect(g).toHaveLength(1);
    expect(g[0].findings.filter((f) => f.level === 'ERROR')).toEqual([]);
    expect(g[0].findings.some((f) => /UseAfter Invalid date/.test(f.message))).toBe(false);
  });
  it('an insertion both sides refuse shows the header as pprint does (sorted keys, one per line)', () => {
    expect(pformatHeader({ B: 'x', A: "it's" })).toBe(`{'A': "it's", 'B': 'x'}`);
    const long = pformatHeader({ ONE: 'a'.repeat(40), TWO: 'b'.repeat(40) });
    expect(long.split('\n')).toEqual([`{'ONE': '${'a'.repeat(40)}',`, ` 'TWO': '${'b'.repeat(40)}'}`]);
  });
});
