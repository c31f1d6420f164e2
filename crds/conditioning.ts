// Value conditioning (crds-rules.md §3.2): how header values and rmap match-key elements
// are normalised before comparison, exactly as crds.core.utils.condition_value.
import { pyFloatRepr } from './parser';

export type HeaderValue = string | number | boolean | null | undefined;

const INTEGER_RE = /^[-+]?[0-9]{1,15}$/;
const NUMBER_RE = /^(?:[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[+-]?[0-9]+\.)$/;
// Python's DONT_CARE_RE: "^" binds only the first alternative and "$" only the last, and
// re.match anchors at the start, so e.g. any value *starting* with N/A becomes N/A.
const DONT_CARE_RE = /^(?:-2147483648.0|\(\)|N\/A|NOT APPLICABLE|NOT_APPLICABLE$)/;

/** Python str() of a scalar header value. */
export function pyScalarStr(value: HeaderValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  // JSON numbers: integers print like Python ints, others like Python floats. -0 can only
  // come from a float (-0.0): Python's int has no negative zero.
  if (Object.is(value, -0)) return '-0.0';
  return Number.isInteger(value) && Math.abs(value) < 1e21 ? String(value) : pyFloatRepr(value);
}

// Python str.strip() whitespace (a superset of what JS trim() removes in ASCII range).
const PY_WS = ' \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_WS.includes(s[a])) a++;
  while (b > a && PY_WS.includes(s[b - 1])) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** crds.core.utils.condition_value */
export function conditionValue(value: HeaderValue): string {
  let s = pyStrip(pyScalarStr(value)).toUpperCase();
  if (INTEGER_RE.test(s)) {
    // Fast path for plain integers (exact in a double below 1e15): Python repr is digits + '.0'.
    const n = Number(s);
    s = n === 0 && s.startsWith('-') ? '-0.0' : String(n) + '.0';
  } else if (NUMBER_RE.test(s)) {
    s = pyFloatRepr(Number(s.endsWith('.') ? s.slice(0, -1) : s));
  }
  if (DONT_CARE_RE.test(s)) s = 'N/A';
  if (s === 'ANY') return '*';
  if (s === '4294967295.0') return '-1.0';
  if (s === 'T' || s === 'TRUE') return 'T';
  if (s === 'F' || s === 'FALSE') return 'F';
  return s;
}

/** crds.core.utils.condition_header: keys upper-cased, values conditioned. */
export function conditionHeader(header: Record<string, HeaderValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(header)) out[key.toUpperCase()] = conditionValue(header[key]);
  return out;
}

/** Header plus `META_X_Y` aliases for dotted keys, for evaluating header expressions. */
export function conditionHeaderKeys<T>(header: Readonly<Record<string, T>>): Readonly<Record<string, T>> {
  let out: Record<string, T> | undefined;
  for (const key of Object.keys(header)) {
    if (key.includes('.')) {
      out ??= { ...header };
      out[key.replace(/\./g, '_')] = header[key];
    }
  }
  return out ?? header; // no dotted keys (HST): the header itself, read-only
}
