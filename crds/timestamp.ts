// Date parsing of crds.core.timestamp (crds-rules.md §3.6): every accepted dataset date form
// is re-emitted as 'YYYY-MM-DD HH:MM:SS[.ffffff]'. Failures carry the text of the Python
// exception the real library would raise, because it ends up in "NOT FOUND ..." results.
import { InvalidDatetimeError } from './errors';
import { pyStrRepr } from './parser';

/** A Python ValueError analogue; message is str(exc). */
export class PyValueError extends Error {}

const T_SEPARATED_DATE_RE = /^\d\d\d\d[-/]\d\d[-/]\d\dT\d\d(:\d\d){1,2}(\.\d{1,6})?$/;
const ALPHABETICAL_RE = /[A-Za-z]{3,10}/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Python str.split() with no separator. */
export function pySplit(s: string): string[] {
  return s.split(/[\s\x1c-\x1f\x85]+/).filter((p) => p !== '');
}

function unpack(parts: string[], n: number): string[] {
  if (parts.length < n) throw new PyValueError(`not enough values to unpack (expected ${n}, got ${parts.length})`);
  if (parts.length > n) throw new PyValueError(`too many values to unpack (expected ${n})`);
  return parts;
}

/** Python int(str). */
export function pyInt(s: string): number {
  if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(s)) throw new PyValueError(`invalid literal for int() with base 10: ${pyStrRepr(s)}`);
  return parseInt(s.replace(/_/g, ''), 10);
}

/** Python float(str). */
export function pyFloat(s: string): number {
  const t = s.trim();
  if (/^[+-]?((\d+(_\d+)*)?\.?\d+(_\d+)*([eE][+-]?\d+)?|\d+(_\d+)*\.([eE][+-]?\d+)?)$/.test(t)) return Number(t.replace(/_/g, ''));
  const m = /^([+-]?)(inf|infinity|nan)$/i.exec(t);
  if (m) return m[2].toLowerCase() === 'nan' ? NaN : m[1] === '-' ? -Infinity : Infinity;
  throw new PyValueError(`could not convert string to float: ${pyStrRepr(s)}`);
}

/** Python int(float) truncation with its errors. */
export function pyTrunc(x: number): number {
  if (Number.isNaN(x)) throw new PyValueError('cannot convert float NaN to integer');
  if (!Number.isFinite(x)) throw new PyValueError('cannot convert float infinity to integer');
  return Math.trunc(x);
}

interface DateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** datetime.datetime(...) with its range checks, in its order. */
function makeDateTime(year: number, month: number, day: number, hour: number, minute: number, second: number, microsecond: number): DateTime {
  if (year < 1 || year > 9999) throw new PyValueError(`year ${year} is out of range`);
  if (month < 1 || month > 12) throw new PyValueError('month must be in 1..12');
  if (day < 1 || day > daysInMonth(year, month)) throw new PyValueError('day is out of range for month');
  if (hour < 0 || hour > 23) throw new PyValueError('hour must be in 0..23');
  if (minute < 0 || minute > 59) throw new PyValueError('minute must be in 0..59');
  if (second < 0 || second > 59) throw new PyValueError('second must be in 0..59');
  if (microsecond < 0 || microsecond > 999999) throw new PyValueError('microsecond must be in 0..999999');
  return { year, month, day, hour, minute, second, microsecond };
}

function monthNum(month: string, initial: string): number {
  const m = month.slice(0, 3);
  const cap = m.charAt(0).toUpperCase() + m.slice(1).toLowerCase();
  const i = MONTHS.indexOf(cap);
  if (i < 0) throw new PyValueError(`Invalid month value ${pyStrRepr(month)} in base date ${pyStrRepr(initial)}`);
  return i + 1;
}

function parseTime(timeIn: string): [number, number, number, number] {
  let time = timeIn.trim();
  let ampm = '';
  const tail = time.slice(-2).toUpperCase();
  if (tail === 'AM' || tail === 'PM') {
    ampm = tail;
    time = time.slice(0, -2);
  }
  const parts = time.split(':');
  let hour: string, minute: string, second: string;
  if (parts.length === 2) {
    [hour, minute] = parts;
    second = '00';
  } else if (parts.length === 3) {
    [hour, minute, second] = parts;
  } else {
    [hour, minute, second] = unpack(parts, 4);
  }
  let ihour = pyInt(hour);
  const iminute = pyInt(minute);
  const fsecond = pyFloat(second);
  const isecond = pyTrunc(fsecond);
  const imicro = pyTrunc((fsecond - isecond) * 10 ** 6);
  if (ampm === 'PM') {
    if (ihour < 12) ihour += 12;
  } else if (ampm === 'AM') {
    if (ihour === 12) ihour -= 12;
  }
  return [ihour, iminute, isecond, imicro];
}

function parseAlphabeticalDate(dateIn: string): DateTime {
  const initial = dateIn;
  let date = dateIn;
  while (date.toLowerCase().endsWith(' am')) date = date.toLowerCase().split(' am').join('am');
  while (date.toLowerCase().endsWith(' pm')) date = date.toLowerCase().split(' pm').join('pm');
  date = date.replace(/-/g, ' ').replace(/\//g, ' ');
  const parts = pySplit(date);
  let month: string, day: string, year: string, time: string;
  if (parts.length === 4) {
    [month, day, year, time] = parts;
  } else {
    [month, day, year] = unpack(parts, 3);
    time = '00:00AM';
  }
  if (day.endsWith(',')) day = day.slice(0, -1);
  let imonth: number, iday: number, iyear: number;
  try {
    imonth = monthNum(month, initial);
    iday = pyInt(day);
    iyear = pyInt(year);
  } catch {
    [day, month] = [month, day];
    imonth = monthNum(month, initial);
    iday = pyInt(day);
    iyear = pyInt(year);
  }
  const [h, m, s, us] = parseTime(time);
  return makeDateTime(iyear, imonth, iday, h, m, s, us);
}

function parseNumericalDate(dstrIn: string): DateTime {
  const dstr = dstrIn.replace(/-/g, '/');
  const parts = pySplit(dstr);
  if (parts.length === 0) throw new PyValueError('list index out of range'); // IndexError in Python
  const date = parts[0];
  const time = parts.length <= 1 ? '00:00:00' : parts.slice(1).join(' ');
  let [h, mi, s, us] = parseTime(time);
  let year: string, month: string, day: string;
  if (/^\d\d\/\d\d\/\d\d\d\d$/.test(date)) {
    [month, day, year] = date.split('/');
  } else if (/^\d\d\d\d\/\d\d\/\d\d$/.test(date)) {
    [year, month, day] = date.split('/');
  } else if (/^\d\d\/\d\d\/9\d$/.test(date)) {
    [day, month, year] = date.split('/');
    year = '19' + year;
  } else if (/^\d\d\/\d\d\/[0-3]\d$/.test(date)) {
    [day, month, year] = date.split('/');
    year = '20' + year;
  } else if (/^\d{8}:\d{6}$/.test(date)) {
    year = date.slice(0, 4);
    month = date.slice(4, 6);
    day = date.slice(6, 8);
    h = pyInt(date.slice(9, 11));
    mi = pyInt(date.slice(11, 13));
    s = pyInt(date.slice(13, 15));
    us = 0;
  } else {
    throw new PyValueError(`Unknown numerical date format: ${pyStrRepr(dstr)}`);
  }
  return makeDateTime(pyInt(year), pyInt(month), pyInt(day), h, mi, s, us);
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** timestamp.parse_date; throws InvalidDatetimeError or PyValueError. */
function parseDate(dateIn: string): DateTime {
  let date = dateIn;
  if (date.includes('UNDEFINED')) throw new InvalidDatetimeError('One or more required date/time values is UNDEFINED');
  if (date.endsWith(' UT')) date = date.slice(0, -3);
  if (T_SEPARATED_DATE_RE.test(date)) date = date.replace(/T/g, ' ');
  return ALPHABETICAL_RE.test(date) ? parseAlphabeticalDate(date) : parseNumericalDate(date);
}

const CANONICAL_RE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/;

/** timestamp.reformat_date: any recognised form → 'YYYY-MM-DD HH:MM:SS[.ffffff]'. */
export function reformatDate(date: string): string {
  // Fast path: an already canonical, valid date reformats to itself.
  const c = CANONICAL_RE.exec(date);
  if (c) {
    const [y, mo, d, h, mi, s] = c.slice(1).map(Number);
    if (y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h <= 23 && mi <= 59 && s <= 59) return date;
  }
  const d = parseDate(date);
  let s = `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)} ${pad(d.hour, 2)}:${pad(d.minute, 2)}:${pad(d.second, 2)}`;
  if (d.microsecond) s += '.' + pad(d.microsecond, 6);
  return s;
}
