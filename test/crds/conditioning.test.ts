// Value conditioning and date parsing, with the real library's answers (crds-rules.md §3.2,
// §3.6; each expected value was produced by crds.core.utils.condition_value /
// timestamp.reformat_date 14.0.3).
import { conditionValue, reformatDate } from '../../crds';

describe('conditionValue', () => {
  test.each([
    ['1', '1.0'], ['1.', '1.0'], ['-9', '-9.0'], ['+5', '5.0'], ['-0', '-0.0'], ['007', '7.0'], ['123456789012345', '123456789012345.0'], ['.5', '0.5'], ['1e5', '100000.0'],
    ['1e16', '1e+16'], ['1e-5', '1e-05'], ['123456789012345678', '1.2345678901234568e+17'], ['1e400', 'inf'],
    ['0.13.7', '0.13.7'], ['2013-11-05', '2013-11-05'], ['INF', 'INF'], ['nan', 'NAN'],
    ['iref$x_drk.fits', 'IREF$X_DRK.FITS'], ['', ''], [' any ', '*'], ['ANY', '*'],
    ['-2147483648', 'N/A'], ['N/A|X', 'N/A'], ['not applicable', 'N/A'], ['()', 'N/A'],
    ['4294967295', '-1.0'], ['true', 'T'], ['F', 'F'], ['False', 'F'],
  ])('%j → %j', (input, expected) => {
    expect(conditionValue(input)).toBe(expected);
  });
  test('non-string values use Python str() first', () => {
    expect(conditionValue(2)).toBe('2.0');
    expect(conditionValue(0.1)).toBe('0.1');
    expect(conditionValue(true)).toBe('T');
    expect(conditionValue(1e21)).toBe('1e+21');
  });
});

describe('reformatDate', () => {
  test.each([
    ['1995-01-01 00:00:00', '1995-01-01 00:00:00'],
    ['2009-12-07 16:10:34.380000', '2009-12-07 16:10:34.380000'],
    ['1995-01-01T05:00:00', '1995-01-01 05:00:00'],
    ['Dec 01 1993 00:00:00 UT', '1993-12-01 00:00:00'],
    ['Feb 08 2006 01:02AM', '2006-02-08 01:02:00'],
    ['27/07/99', '1999-07-27 00:00:00'],
    ['03-Jan-2013', '2013-01-03 00:00:00'],
    ['19970114:053714', '1997-01-14 05:37:14'],
    ['12/21/1999 05:42 PM', '1999-12-21 17:42:00'],
    ['July 27, 1999', '1999-07-27 00:00:00'],
    ['1995-01-01 12:00:00.3', '1995-01-01 12:00:00.300000'],
  ])('%j → %j', (input, expected) => {
    expect(reformatDate(input)).toBe(expected);
  });
  test.each([
    ['1995/13/01 00:00:00', 'month must be in 1..12'],
    ['2003-09-35 01:28:00', 'day is out of range for month'],
    ['2003-09-26 foo 01:28:00', 'too many values to unpack (expected 3)'],
    ['2003/messed/up 01:28:00', "Invalid month value 'messed' in base date '2003/messed/up 01:28:00'"],
    ['2003/12/20 01:28:00QM', "could not convert string to float: '00QM'"],
    ['2003/12/2 01:28:00', "Unknown numerical date format: '2003/12/2 01:28:00'"],
    ['1995-01-01 25:00:00', 'hour must be in 0..23'],
    ['2010-01-01 1:2:3:4:5', 'too many values to unpack (expected 4)'],
    ['', 'list index out of range'],
    ['1999-01-01 UNDEFINED', 'One or more required date/time values is UNDEFINED'],
  ])('%j fails with %j', (input, message) => {
    expect(() => reformatDate(input)).toThrow(message);
  });
});
