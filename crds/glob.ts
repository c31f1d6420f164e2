// Python fnmatch (*, ?, [seq], [!seq]) without a backtracking regular expression: a pattern is
// compiled once into tokens and matched by the two-pointer method (on a mismatch, resume after
// the last '*' one character further on), which takes at most O(len(pattern) × len(name)) steps
// whatever the pattern. A regex translation of '*a*a*a*…b' backtracks exponentially.

type Token = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; c: string } | { kind: 'set'; negated: boolean; chars: string; ranges: [string, string][] };

export interface Glob {
  readonly pattern: string;
  test(name: string): boolean;
}

function compile(pat: string): Token[] {
  const tokens: Token[] = [];
  const n = pat.length;
  let i = 0;
  while (i < n) {
    const c = pat[i++];
    if (c === '*') {
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
    } else if (c === '[') {
      // fnmatch.translate: after an optional '!', a leading ']' is literal; no closing ']' → literal '['.
      let j = i;
      if (j < n && pat[j] === '!') j++;
      if (j < n && pat[j] === ']') j++;
      while (j < n && pat[j] !== ']') j++;
      if (j >= n) {
        tokens.push({ kind: 'char', c: '[' });
        continue;
      }
      let body = pat.slice(i, j);
      i = j + 1;
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      const set: Token & { kind: 'set' } = { kind: 'set', negated, chars: '', ranges: [] };
      for (let k = 0; k < body.length; k++) {
        // 'a-z' is a range (an empty one when reversed, as Python drops it); a '-' first or last is literal.
        if (k + 2 < body.length && body[k + 1] === '-') {
          if (body[k] <= body[k + 2]) set.ranges.push([body[k], body[k + 2]]);
          k += 2;
        } else set.chars += body[k];
      }
      tokens.push(set);
    } else {
      tokens.push({ kind: 'char', c });
    }
  }
  return tokens;
}

function matchOne(t: Token, ch: string): boolean {
  switch (t.kind) {
    case 'any':
      return true;
    case 'char':
      return t.c === ch;
    case 'set': {
      const inSet = t.chars.includes(ch) || t.ranges.some(([lo, hi]) => lo <= ch && ch <= hi);
      return inSet !== t.negated;
    }
    default:
      return false;
  }
}

/** A compiled fnmatch pattern: test(name) is fnmatch.fnmatchcase(name, pattern). */
export function compileGlob(pattern: string): Glob {
  const tokens = compile(pattern);
  return {
    pattern,
    test(name: string): boolean {
      let p = 0;
      let s = 0;
      let starP = -1; // token index after the last '*' seen
      let starS = 0; // name position that '*' is taken to reach so far
      while (s < name.length) {
        const t = tokens[p];
        if (t && t.kind === 'star') {
          starP = ++p;
          starS = s;
        } else if (t && matchOne(t, name[s])) {
          p++;
          s++;
        } else if (starP >= 0) {
          p = starP;
          s = ++starS;
        } else return false;
      }
      while (p < tokens.length && tokens[p].kind === 'star') p++;
      return p === tokens.length;
    },
  };
}

/** Any of several globs (an rmap's 'A|B*|*C'). */
export function compileGlobList(patterns: string[]): Glob {
  const globs = patterns.map(compileGlob);
  return { pattern: patterns.join('|'), test: (name) => globs.some((g) => g.test(name)) };
}
