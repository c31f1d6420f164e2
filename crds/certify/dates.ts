// Date formats of the certify special validators (&SYBDATE, &JWSTDATE, &SLASHDATE, &ANYDATE,
// PEDIGREE dates), with the real library's messages (crds.core.timestamp). Patterns anchor at
// the start only, as Python's re.match does, unless the original anchors the end too.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export class DateValueError extends Error {}

function pyRepr(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function checkedDate(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): Date {
  if (year < 1 || year > 9999) throw new DateValueError(`year ${year} is out of range`);
  if (month < 1 || month > 12) throw new DateValueError('month must be in 1..12');
  const dim = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : dim;
  if (day < 1 || day > days) throw new DateValueError('day is out of range for month');
  if (hour > 23) throw new DateValueError('hour must be in 0..23');
  if (minute > 59) throw new DateValueError('minute must be in 0..59');
  if (second > 59) throw new DateValueError('second must be in 0..59');
  const d = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  d.setUTCFullYear(year);
  return d;
}

function invalid(cls: string, s: string, shouldBe: string): DateValueError {
  return new DateValueError(`Invalid ${pyRepr(cls)} format ${pyRepr(s)} should be ${pyRepr(shouldBe)}`);
}

export function slashdate(s: string): Date {
  const m = /^(\d\d)\s*\/\s*(\d\d)\s*\/\s*(\d\d\d\d)/.exec(s);
  if (!m) throw invalid('Slashdate', s, 'DD/MM/YYYY');
  return checkedDate(Number(m[3]), Number(m[2]), Number(m[1]));
}

export function dashdate(s: string): Date {
  const m = /^(\d\d\d\d)-(\d\d)-(\d\d)/.exec(s);
  if (!m) throw invalid('Dashdate', s, 'YYYY-MM-DD');
  return checkedDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function sybdate(s: string): Date {
  const m = /^([A-Za-z]{1,10})\s+(\d{1,2}),?\s+(\d{1,4})(\s+(\d{1,2}):(\d{1,2}):(\d{1,2})\s*(am|pm|AM|PM)?)?/.exec(s);
  if (!m) throw invalid('Sybdate', s, 'Mar 21 2001 12:00:00 am');
  const month = MONTHS.indexOf(m[1].slice(0, 3).toLowerCase()) + 1;
  if (month === 0) throw new DateValueError(`('Illegal month', ${pyRepr(m[1])})`);
  let hour = m[5] ? Number(m[5]) : 0;
  if (m[8]) {
    if (m[8].toLowerCase() === 'pm') {
      if (hour < 12) hour += 12;
    } else if (hour === 12) hour -= 12;
  }
  // Python builds the datetime from the non-empty groups only: an hour of "0" still counts.
  return checkedDate(Number(m[3]), month, Number(m[2]), hour, m[6] ? Number(m[6]) : 0, m[7] ? Number(m[7]) : 0);
}

export function jwstdate(s: string): Date {
  const m = /^(\d\d\d\d)-(\d\d)-(\d\d)(T(\d\d):(\d\d):(\d\d))?$/.exec(s);
  if (!m) throw invalid('Jwstdate', s, '2018-12-22T00:00:00');
  return checkedDate(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[5] ?? 0), Number(m[6] ?? 0), Number(m[7] ?? 0));
}

export function anydate(s: string): Date {
  try {
    return slashdate(s);
  } catch {
    /* next */
  }
  try {
    return sybdate(s);
  } catch {
    throw new DateValueError(`Invalid Anydate format ${pyRepr(s)}`);
  }
}
