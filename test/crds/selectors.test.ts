// Selectors and match-key forms (crds-rules.md §1.5, §3.4–3.7) on small rmaps written here.
import { matcher, mappingFromText, ReferenceMapping, type Header } from '../../crds';

function rmap(selector: string, extraHeader = '', parkey = "(('DETECTOR', 'FILTER'), ('DATE-OBS', 'TIME-OBS'))"): ReferenceMapping {
  const text = `header = {
    'derived_from' : 'by hand',
    'filekind' : 'DARKFILE',
    'instrument' : 'ACS',
    'mapping' : 'REFERENCE',
    'name' : 'hst_acs_darkfile_9999.rmap',
    'observatory' : 'HST',
    'parkey' : ${parkey},
    ${extraHeader}
}

selector = ${selector}
`;
  return mappingFromText(text, 'hst_acs_darkfile_9999.rmap', undefined, { ignoreChecksum: true, eager: true }) as ReferenceMapping;
}

const day = (date: string): Header => ({ 'DATE-OBS': date, 'TIME-OBS': '00:00:00' });

describe('matchers', () => {
  test.each([
    // key, value, status
    ['N/A', 'X', 0], ['N/A', '*', 0],
    ['*', 'X', 1], ['*', 'N/A', 0],
    ['WFC', 'WFC', 1], ['WFC', 'HRC', -1], ['WFC', '*', 1], ['WFC', 'N/A', 0],
    ['A|B|C', 'B', 1], ['A|B|C', 'D', -1],
    ['F1*', 'F1ABC', 1], ['F1*', 'F2', -1], ['F?W', 'F1W', -1], ['F?W*', 'F1W', 1], ['F[0-2]W*', 'F3W', -1], ['F[0-2]W*', 'F1W', 1],
    ['BETWEEN 1055 1097', '1055.0', 1], ['BETWEEN 1055 1097', '1097.0', -1], ['BETWEEN 1055 1097', 'X', -1],
    ['# >3000 AND <=4200 #', '4200.0', 1], ['# >3000 AND <=4200 #', '3000.0', -1],
    ['# <1 OR >5 #', '6.0', 1], ['# <1 OR >5 #', '3.0', -1],
    ['>1.2', '1.3', 1], ['<=5', '5.5', -1], ['>1.2', 'ABC', -1],
    ['NOT WFC', 'HRC', 1], ['NOT WFC', 'WFC', -1], ['NOT WFC', '*', -1], ['NOT WFC', 'N/A', 0],
    ['(FOO.*)', 'FOOBAR', 1], ['(FOO.*)', 'XFOO', -1],
    ['{A|B}', 'A|B', 1], ['{A|B}', 'A', -1],
  ])('%j matches %j with %i', (key, value, status) => {
    expect(matcher(key).match(value)).toBe(status);
  });
});

describe('Match selection', () => {
  const m = rmap(`Match({
    ('WFC', 'F1') : UseAfter({ '2000-01-01 00:00:00' : 'exact_f1.fits', '2010-01-01 00:00:00' : 'exact_f1_late.fits' }),
    ('WFC', 'ANY') : UseAfter({ '1990-01-01 00:00:00' : 'any_filter.fits', '2010-01-01 00:00:00' : 'any_late.fits' }),
    ('WFC', 'N/A') : UseAfter({ '1980-01-01 00:00:00' : 'na_filter.fits' }),
    ('HRC', 'F1|F2') : UseAfter({ '2000-01-01 00:00:00' : 'hrc.fits' }),
    ('HRC', 'F3') : 'N/A',
  })`);
  const look = (h: Header) => m.getBestRef({ ...day('2005-01-01'), ...h });

  test('exact and ANY weigh the same: their UseAfter lists are merged (Q1)', () => {
    expect(look({ DETECTOR: 'WFC', FILTER: 'F1' })).toBe('exact_f1.fits');
    expect(m.getBestRef({ DETECTOR: 'WFC', FILTER: 'F1', ...day('2011-01-01') })).toBe('exact_f1_late.fits'); // collision: greater name
    expect(m.getBestRef({ DETECTOR: 'WFC', FILTER: 'F1', ...day('1995-01-01') })).toBe('any_filter.fits');
  });
  test('a weaker row (N/A) is tried when the better rows fail on date', () => {
    expect(m.getBestRef({ DETECTOR: 'WFC', FILTER: 'F1', ...day('1985-01-01') })).toBe('na_filter.fits');
    expect(m.getBestRef({ DETECTOR: 'WFC', FILTER: 'F1', ...day('1970-01-01') })).toBe('NOT FOUND No match found.');
  });
  test('N/A terminal', () => {
    expect(look({ DETECTOR: 'HRC', FILTER: 'F3' })).toBe('NOT FOUND n/a');
    expect(look({ DETECTOR: 'HRC', FILTER: 'F2' })).toBe('hrc.fits');
  });
  test('runtime validation message lists the rmap values, sorted', () => {
    expect(look({ DETECTOR: 'SBC', FILTER: 'F1' })).toBe("NOT FOUND  parameter='DETECTOR' value='SBC' is not in ['HRC', 'WFC']");
    expect(look({ DETECTOR: 'HRC', FILTER: 'F9' })).toBe('NOT FOUND No match found.'); // FILTER column has ANY
  });
  test('UseAfter errors', () => {
    expect(m.getBestRef({ DETECTOR: 'HRC', FILTER: 'F1', 'DATE-OBS': 'UNDEFINED', 'TIME-OBS': '00:00:00' })).toBe(
      "NOT FOUND UseAfter parameter 'DATE-OBS' is UNDEFINED.",
    );
    expect(m.getBestRef({ DETECTOR: 'HRC', FILTER: 'F1', 'DATE-OBS': '1995/13/01', 'TIME-OBS': '00:00:00' })).toBe(
      "NOT FOUND UseAfter Invalid date/time format for ('DATE-OBS', 'TIME-OBS') value = '1995/13/01 00:00:00' exception is 'month must be in 1..12'",
    );
  });
  test('merge_overlaps false makes ties an error', () => {
    const strict = rmap(
      "Match({ ('WFC', 'F1') : UseAfter({'2000-01-01 00:00:00' : 'a.fits'}), ('WFC', '*') : UseAfter({'2000-01-01 00:00:00' : 'b.fits'}) })",
      "'merge_overlaps' : 'FALSE',",
    );
    expect(strict.getBestRef({ DETECTOR: 'WFC', FILTER: 'F1', ...day('2001-01-01') })).toBe('NOT FOUND More than one match clause matched.');
  });
  test('Match-only ties return all terminals (a Python tuple)', () => {
    const only = rmap("Match({ ('WFC', 'F1') : 'b.fits', ('WFC', 'ANY') : 'a.fits' })", '', "(('DETECTOR', 'FILTER'),)");
    expect(only.getBestRef({ DETECTOR: 'WFC', FILTER: 'F1' })).toEqual(['a.fits', 'b.fits']); // key order: '*' < 'F1'
  });
  test('duplicate keys after conditioning and wrong key lengths fail at load', () => {
    expect(() => rmap("Match({ ('WFC', 1) : 'a.fits', ('WFC', 1.0) : 'b.fits', ('wfc', '1') : 'c.fits' })", '', "(('DETECTOR', 'FILTER'),)")).toThrow(
      "Can't load file hst_acs_darkfile_9999.rmap : Key ('WFC', '1.0') appears more than once ",
    );
    expect(() => rmap("Match({ ('WFC',) : 'a.fits' })", '', "(('DETECTOR', 'FILTER'),)")).toThrow(
      "Match key=('WFC',) is wrong length for parameters ('DETECTOR', 'FILTER')",
    );
  });
  test('without eager loading the tree is built on first use, and its errors become the lookup result', () => {
    const text = `header = {
    'derived_from' : 'by hand', 'filekind' : 'DARKFILE', 'instrument' : 'ACS', 'mapping' : 'REFERENCE',
    'name' : 'lazy.rmap', 'observatory' : 'HST', 'parkey' : (('DETECTOR',),),
}
selector = Match({ ('WFC', 'X') : 'a.fits' })
`;
    const lazy = mappingFromText(text, 'lazy.rmap', undefined, { ignoreChecksum: true }) as ReferenceMapping;
    const message = "Can't load file lazy.rmap : Match key=('WFC', 'X') is wrong length for parameters ('DETECTOR',)";
    expect(lazy.getBestRef({ DETECTOR: 'WFC' })).toBe('NOT FOUND ' + message);
    expect(() => lazy.build()).toThrow(message);
    expect(() => mappingFromText(text, 'lazy.rmap', undefined, { ignoreChecksum: true, eager: true })).toThrow(message);
  });
  test('header substitutions apply to raw keys; GENERIC subarray is N/A by default', () => {
    const sub = rmap(
      "Match({ ('WFC', 'GENERIC') : 'generic.fits', ('HRC', 'OLD') : 'old.fits' })",
      "'substitutions' : { 'FILTER' : { 'OLD' : 'NEW' } },",
      "(('DETECTOR', 'SUBARRAY'),)",
    );
    expect(sub.getBestRef({ DETECTOR: 'WFC', SUBARRAY: 'ANYTHING' })).toBe('generic.fits');
    const sub2 = rmap("Match({ ('HRC', 'OLD') : 'old.fits' })", "'substitutions' : { 'FILTER' : { 'OLD' : 'NEW' } },", "(('DETECTOR', 'FILTER'),)");
    expect(sub2.getBestRef({ DETECTOR: 'HRC', FILTER: 'NEW' })).toBe('old.fits');
  });
});

describe('header expressions and requiredness', () => {
  const sel = "Match({ ('WFC', 'F1') : UseAfter({ '2000-01-01 00:00:00' : 'a.fits' }) })";
  const h = { DETECTOR: 'WFC', FILTER: 'F1', DARKCORR: 'PERFORM', ...day('2001-01-01') };
  test('rmap_relevance false ⇒ NOT FOUND n/a; evaluation errors ⇒ relevant', () => {
    expect(rmap(sel, "'rmap_relevance' : '(DARKCORR != \"PERFORM\")',").getBestRef(h)).toBe('NOT FOUND n/a');
    expect(rmap(sel, "'rmap_relevance' : '(NOSUCHKEY == \"X\")',").getBestRef(h)).toBe('a.fits');
    expect(rmap(sel, "'rmap_relevance' : 'ALWAYS',").getBestRef(h)).toBe('a.fits');
  });
  test("rmap_omit true ⇒ omitted; the string 'True' reads as 'true' and is not omitted (Q3)", () => {
    expect(rmap(sel, "'rmap_omit' : '(FILTER in (\"F1\", \"F2\"))',").getBestRef(h)).toBeNull();
    expect(rmap(sel, "'rmap_omit' : 'True',").getBestRef(h)).toBe('a.fits');
  });
  test('parkey_relevance false turns the value into N/A before matching', () => {
    const m = rmap(
      "Match({ ('WFC', 'N/A') : UseAfter({ '2000-01-01 00:00:00' : 'na.fits' }) })",
      "'parkey_relevance' : { 'filter' : '(DETECTOR == \"HRC\")' },",
    );
    expect(m.getBestRef({ ...h, FILTER: 'ANYTHING' })).toBe('na.fits');
  });
  test('reffile_required NO turns any failure into N/A (Q7)', () => {
    const m = rmap(sel, "'reffile_required' : 'NO',");
    expect(m.getBestRef({ ...h, DETECTOR: 'FOO' })).toBe('NOT FOUND n/a');
    expect(m.getBestRef({ ...h, ...day('1990-01-01') })).toBe('NOT FOUND n/a');
  });
  test('HST DNR rule: WFC with CCDGAIN 1.4 and a failed lookup ⇒ N/A (Q8)', () => {
    const m = rmap(
      "Match({ ('WFC', 'F1', '2.0') : UseAfter({ '2000-01-01 00:00:00' : 'a.fits' }) })",
      '',
      "(('DETECTOR', 'FILTER', 'CCDGAIN'), ('DATE-OBS', 'TIME-OBS'))",
    );
    const failing = { ...h, FILTER: 'F9', CCDGAIN: '1.4' };
    expect(m.getBestRef(failing)).toBe('NOT FOUND n/a');
    expect(m.getBestRef({ ...failing, CCDGAIN: '2.0' })).toMatch(/^NOT FOUND  parameter='FILTER'/);
  });
  test('bad expressions fail at load with the file named', () => {
    expect(() => rmap(sel, "'rmap_relevance' : '(DETECTOR x= \"SBC\")',")).toThrow(/Can't load file 'hst_acs_darkfile_9999.rmap' : invalid header expression/);
    expect(() => rmap(sel, "'rmap_relevance' : '(__import__(\"os\"))',")).toThrow(/calls and subscripts are not allowed/);
  });
});

describe('other selectors (tobs test rules)', () => {
  const m = mappingFromText(
    `header = {
    'derived_from' : 'by hand', 'filekind' : 'TFILEKIND', 'instrument' : 'TINSTR', 'mapping' : 'REFERENCE',
    'name' : 'tobs_tinstr_tfilekind.rmap', 'observatory' : 'TOBS', 'parkey' : (('TEST_CASE',), ('PARAMETER',)),
}
selector = Match({
    'SELECT_VERSION' : SelectVersion({ '<3.1': 'v_lt31.fits', '<5': 'v_lt5.fits', 'default': 'v_default.fits' }),
    'CLOSEST_TIME' : ClosestTime({ '2017-04-24': 'ct_a.fits', '2018-02-01': 'ct_b.fits', '2019-04-15': 'ct_c.fits' }),
    'BRACKET' : Bracket({ 1.2: 'b_120.fits', 1.5: 'b_150.fits', 5.0: 'b_500.fits' }),
    'GEOMETRICALLY_NEAREST' : GeometricallyNearest({ 1.2 : 'g_120.fits', 1.5 : 'g_150.fits', 5.0 : 'g_500.fits' }),
    'VERSION_AFTER' : VersionAfter({ '1.0' : 'va_1.fits', '2.1.3' : 'va_213.fits' }),
})
`,
    'tobs_tinstr_tfilekind.rmap',
    undefined,
    { ignoreChecksum: true },
  ) as ReferenceMapping;
  const look = (test: string, parameter: string) => m.lookup({ TEST_CASE: test, PARAMETER: parameter });
  test('SelectVersion', () => {
    expect(look('SELECT_VERSION', '3.0')).toBe('v_lt31.fits');
    expect(look('SELECT_VERSION', '4')).toBe('v_lt5.fits');
    expect(look('SELECT_VERSION', '5')).toBe('v_default.fits');
  });
  test('ClosestTime', () => {
    expect(look('CLOSEST_TIME', '2017-01-01')).toBe('ct_a.fits');
    expect(look('CLOSEST_TIME', '2018-12-31')).toBe('ct_c.fits');
  });
  test('Bracket returns the neighbours, or the same choice twice', () => {
    expect(look('BRACKET', '1.3')).toEqual(['b_120.fits', 'b_150.fits']);
    expect(look('BRACKET', '1.5')).toEqual(['b_150.fits', 'b_150.fits']);
    expect(look('BRACKET', '9')).toEqual(['b_500.fits', 'b_500.fits']);
  });
  test('GeometricallyNearest', () => {
    expect(look('GEOMETRICALLY_NEAREST', '1.4')).toBe('g_150.fits');
    expect(look('GEOMETRICALLY_NEAREST', '3.0')).toBe('g_150.fits');
    expect(look('GEOMETRICALLY_NEAREST', '3.3')).toBe('g_500.fits');
  });
  test('VersionAfter', () => {
    expect(look('VERSION_AFTER', '2.1.2')).toBe('va_1.fits');
    expect(look('VERSION_AFTER', '2.1.3rc1')).toBe('va_213.fits');
    expect(() => look('VERSION_AFTER', '0.9')).toThrow('No match found.');
  });
});
