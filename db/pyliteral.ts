// A safe parser for Python literals as the real client writes them with pprint/repr (its cache's
// config/<obs>/server_config): dicts, lists, tuples, sets, strings (single, double and triple
// quoted, with escapes, b/r/u prefixes and implicit concatenation of adjacent strings), ints,
// floats, True/False/None. Nothing is evaluated: anything else is a syntax error with its
// line and column. (crds/parser.ts parses mapping files, `header = {...} selector = ...`, and
// does not expose its expression parser, hence this small one.)

export class PyLiteralError extends Error {}

export function parsePyLiteral(text: string, source = '<literal>'): unknown {
  const p = new LiteralParser(text, source);
  const value = p.value();
  p.skipSpace();
  if (p.pos < text.length) p.fail('unexpected text after the value');
  return value;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '' };

class LiteralParser {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  fail(message: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split('\n').length;
    const column = this.pos - before.lastIndexOf('\n');
    throw new PyLiteralError(`${this.source}:${line}:${column}: ${message}`);
  }

  skipSpace(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 10 || c === 13 || c === 9 || c === 12) this.pos++;
      else if (c === 92 && t[this.pos + 1] === '\n') this.pos += 2; // line continuation
      else if (c === 35) {
        const nl = t.indexOf('\n', this.pos);
        this.pos = nl < 0 ? t.length : nl;
      } else return;
    }
  }

  value(): unknown {
    this.skipSpace();
    const t = this.text;
    const c = t[this.pos];
    if (c === undefined) this.fail('unexpected end of input');
    if (c === '{') return this.dictOrSet();
    if (c === '[') return this.sequence(']');
    if (c === '(') return this.sequence(')');
    if (c === "'" || c === '"' || (/[bBrRuU]/.test(c) && this.isStringPrefix())) return this.strings();
    if (/[-+0-9.]/.test(c)) return this.number();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(t.slice(this.pos, this.pos + 64))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      this.pos += word.length;
      return word === 'True' ? true : word === 'False' ? false : null;
    }
    return this.fail(`not a literal: ${JSON.stringify(t.slice(this.pos, this.pos + 20))}`);
  }

  private isStringPrefix(): boolean {
    const m = /^[bBrRuU]{1,2}(?=['"])/.exec(this.text.slice(this.pos, this.pos + 3));
    return !!m;
  }

  private sequence(close: ']' | ')'): unknown[] {
    this.pos++;
    const items: unknown[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private dictOrSet(): unknown {
    this.pos++;
    const dict: Record<string, unknown> = {};
    const set: unknown[] = [];
    let kind: 'dict' | 'set' | undefined;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return kind === 'set' ? set : dict;
      }
      const key = this.value();
      this.skipSpace();
      if (this.text[this.pos] === ':') {
        if (kind === 'set') this.fail("':' in a set");
        kind = 'dict';
        this.pos++;
        if (key !== null && typeof key === 'object') this.fail('unhashable dict key');
        dict[String(key)] = this.value();
      } else {
        if (kind === 'dict') this.fail("expected ':'");
        kind = 'set';
        set.push(key);
      }
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== '}') this.fail("expected ',' or '}'");
    }
  }

  /** One or more adjacent string literals, joined (Python's implicit concatenation). */
  private strings(): string {
    let out = this.string();
    for (;;) {
      const save = this.pos;
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === "'" || c === '"' || (c !== undefined && /[bBrRuU]/.test(c) && this.isStringPrefix())) out += this.string();
      else {
        this.pos = save;
        return out;
      }
    }
  }

  private string(): string {
    const t = this.text;
    let raw = false;
    while (/[bBrRuU]/.test(t[this.pos])) {
      if (/[rR]/.test(t[this.pos])) raw = true;
      this.pos++;
    }
    const q = t[this.pos];
    const triple = t.startsWith(q.repeat(3), this.pos);
    const end = triple ? q.repeat(3) : q;
    this.pos += end.length;
    let out = '';
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string');
      // Fast path: copy up to the next quote or backslash.
      let stop = this.pos;
      while (stop < t.length && t[stop] !== q && t[stop] !== '\\' && (triple || t[stop] !== '\n')) stop++;
      out += t.slice(this.pos, stop);
      this.pos = stop;
      const c = t[this.pos];
      if (c === undefined) continue;
      if (c === '\n') this.fail('newline in a string');
      if (c === q) {
        if (t.startsWith(end, this.pos)) {
          this.pos += end.length;
          return out;
        }
        out += c;
        this.pos++;
        continue;
      }
      // Backslash.
      const n = t[this.pos + 1];
      if (raw) {
        out += '\\' + (n ?? '');
        this.pos += 2;
        continue;
      }
      if (n in ESCAPES) {
        out += ESCAPES[n];
        this.pos += 2;
      } else if (n === 'x' || n === 'u' || n === 'U') {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const hex = t.slice(this.pos + 2, this.pos + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail(`bad \\${n} escape`);
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos += 2 + len;
      } else {
        out += '\\' + (n ?? ''); // Python keeps unknown escapes as written
        this.pos += 2;
      }
    }
  }

  private number(): number {
    const m = /^[-+]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?)/.exec(this.text.slice(this.pos, this.pos + 64));
    if (!m) this.fail('bad number');
    this.pos += m[0].length;
    const s = m[0].replace(/_/g, '');
    const v = /0[xX]/.test(s) ? (s.startsWith('-') ? -1 : 1) * parseInt(s.replace(/^[-+]?0[xX]/, ''), 16) : Number(s);
    if (Number.isNaN(v)) this.fail(`bad number ${m[0]}`);
    return v;
  }
}
