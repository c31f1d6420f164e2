// Matchers for one element of a Match key (crds-rules.md §1.5), after crds.core.selectors:
// each returns 1 (match), 0 (don't care) or -1 (no match) for a conditioned dataset value.

import { compileGlobList } from './glob';

export type MatchStatus = 1 | 0 | -1;

export interface Matcher {
  /** 'exact' matchers can be indexed by their key (see MatchSelector). */
  readonly kind: 'exact' | 'na' | 'glob' | 'regex' | 'inequality' | 'binary' | 'not';
  readonly key: string;
  match(value: string): MatchStatus;
}

/** Plain equality; also the base check every other Python matcher performs first. */
class ExactMatcher implements Matcher {
  readonly kind: Matcher['kind'] = 'exact';
  constructor(readonly key: string) {}
  match(value: string): MatchStatus {
    if (value === this.key || value === '*') return 1;
    return value === 'N/A' ? 0 : -1;
  }
}

class NaMatcher implements Matcher {
  readonly kind = 'na' as const;
  readonly key = 'N/A';
  match(): MatchStatus {
    return 0;
  }
}

class RegexMatcher implements Matcher {
  readonly kind: Matcher['kind'] = 'regex';
  private readonly regex: RegExp;
  /** `key` is the regex source, as in Python where the base equality check compares against it. */
  constructor(
    readonly key: string,
    regex?: RegExp,
  ) {
    // Python re.match anchors at the start only.
    this.regex = regex ?? new RegExp('^(?:' + key + ')', 's');
  }
  match(value: string): MatchStatus {
    if (value === this.key || value === '*') return 1;
    if (value === 'N/A') return 0;
    return this.regex.test(value) ? 1 : -1;
  }
}

/** Python fnmatch.translate of one glob, as a JS regex source (unanchored). */
export function globToRegexSource(pat: string): string {
  let out = '';
  let i = 0;
  const n = pat.length;
  while (i < n) {
    const c = pat[i++];
    if (c === '*') {
      out += '.*';
      while (pat[i] === '*') i++;
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      let j = i;
      if (j < n && pat[j] === '!') j++;
      if (j < n && pat[j] === ']') j++;
      while (j < n && pat[j] !== ']') j++;
      if (j >= n) {
        out += '\\[';
      } else {
        let stuff = pat.slice(i, j).replace(/\\/g, '\\\\');
        i = j + 1;
        if (stuff.startsWith('!')) stuff = '^' + stuff.slice(1);
        else if (stuff.startsWith('^')) stuff = '\\' + stuff;
        out += stuff === '' ? '(?!)' : stuff === '^' ? '.' : `[${stuff.replace(/\[/g, '\\[')}]`;
      }
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return out;
}

/**
 * Or-list of globs, e.g. 'A|AB|*C'; the alternatives are already split and sorted. Matched by
 * crds/glob.ts in O(pattern × value) steps, not by the regex translation (which backtracks
 * exponentially on '*A*A*A…'); `key` stays that regex's source, as Python's base check compares it.
 */
export function globMatcher(parts: string[]): Matcher {
  const key = '^(?:' + parts.map((p) => '(?:' + globToRegexSource(p) + ')').join('|') + ')$';
  const globs = compileGlobList(parts);
  return {
    kind: 'glob',
    key,
    match(value: string): MatchStatus {
      if (value === key || value === '*') return 1;
      if (value === 'N/A') return 0;
      return globs.test(value) ? 1 : -1;
    },
  };
}

const INEQUALITY_RE = /^([><]=?)\s*([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)/;

class InequalityMatcher implements Matcher {
  readonly kind = 'inequality' as const;
  private readonly op: string;
  private readonly limit: number;
  constructor(readonly key: string) {
    const m = INEQUALITY_RE.exec(key);
    if (!m) throw new Error(`Invalid relational match expression ${JSON.stringify(key)}`);
    this.op = m[1];
    this.limit = Number(m[2]);
  }
  match(value: string): MatchStatus {
    if (value === this.key || value === '*') return 1;
    if (value === 'N/A') return 0;
    const t = value.trim();
    // Python float(): numbers, inf, nan; anything else is no match.
    let x: number;
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) x = Number(t);
    else if (/^[+-]?(inf|infinity)$/i.test(t)) x = t.startsWith('-') ? -Infinity : Infinity;
    else if (/^[+-]?nan$/i.test(t)) x = NaN;
    else return -1;
    switch (this.op) {
      case '>':
        return x > this.limit ? 1 : -1;
      case '<':
        return x < this.limit ? 1 : -1;
      case '>=':
        return x >= this.limit ? 1 : -1;
      default:
        return x <= this.limit ? 1 : -1;
    }
  }
}

class BinaryMatcher implements Matcher {
  readonly kind = 'binary' as const;
  private readonly m1: Matcher;
  private readonly m2: Matcher;
  constructor(
    readonly key: string,
    private readonly op: 'AND' | 'OR',
  ) {
    let body = key;
    if (body.trim().startsWith('#')) body = body.trim().slice(1, -1);
    // Python str.split(operator) then uses parts[0] and parts[1] only.
    const parts = body.split(` ${op} `.trim()).map((p) => p.trim());
    this.m1 = matcher(parts[0]);
    this.m2 = matcher(parts[1] ?? '');
  }
  match(valueIn: string): MatchStatus {
    const value = valueIn.toUpperCase();
    if (value === this.key || value === '*') return 1;
    if (value === 'N/A') return 0;
    const a = this.m1.match(value) === 1;
    if (this.op === 'AND') return a && this.m2.match(value) === 1 ? 1 : -1;
    return a || this.m2.match(value) === 1 ? 1 : -1;
  }
}

class NotMatcher implements Matcher {
  readonly kind = 'not' as const;
  private readonly inner: Matcher;
  constructor(readonly key: string) {
    this.inner = matcher(key.slice('NOT '.length).trim());
  }
  match(value: string): MatchStatus {
    return (-this.inner.match(value) || 0) as MatchStatus;
  }
}

/** True when a key element is too complex for valid-value checks (crds esoteric_key). */
export function esotericKey(keyIn: string): boolean {
  const key = keyIn.toUpperCase();
  return (
    (/^[{(#]/.test(key) && /[})#]$/.test(key)) || key.startsWith('BETWEEN') || key.startsWith('NOT')
  );
}

/** selectors.glob_list: split an or-glob on '|', strip, drop empties, sort. */
export function globList(value: string): string[] {
  if (!esotericKey(value) && value.includes('|')) {
    return value
      .split('|')
      .map((v) => v.trim())
      .filter((v) => v !== '')
      .sort(pyCompare);
  }
  return [value];
}

/** Python string ordering (code points; equal to UTF-16 order for the BMP). */
export function pyCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Factory choosing the matcher for a conditioned key element (selectors.matcher). */
export function matcher(key: string): Matcher {
  if (key.startsWith('(') && key.endsWith(')') && key.length >= 2) return new RegexMatcher(key.slice(1, -1));
  if (key.startsWith('{') && key.endsWith('}') && key.length >= 2) return new ExactMatcher(key.slice(1, -1));
  if (key.startsWith('#') && key.endsWith('#') && key.length >= 2) {
    const k = key.toUpperCase();
    if (k.includes(' AND ')) return new BinaryMatcher(k, 'AND');
    if (k.includes(' OR ')) return new BinaryMatcher(k, 'OR');
    return matcher(k.slice(1, -1));
  }
  if (key.toUpperCase().startsWith('BETWEEN')) {
    const parts = key.split(/\s+/).filter((p) => p);
    if (parts.length !== 3) throw new Error(`Invalid between relation ${JSON.stringify(key)}`);
    if (!(Number(parts[1]) <= Number(parts[2]))) {
      throw new Error(`Invalid between relation '${key}' should be 'between lower_bound upper_bound'`);
    }
    return new BinaryMatcher(`>=${parts[1]} AND <${parts[2]}`, 'AND');
  }
  if (key.toUpperCase().startsWith('NOT ')) return new NotMatcher(key);
  if (key.includes('|') || key.includes('*')) return globMatcher(globList(key));
  if (key === 'N/A') return new NaMatcher();
  if (key.startsWith('>') || key.startsWith('<')) return new InequalityMatcher(key);
  return new ExactMatcher(key);
}
