// Tokenizer and recursive-descent parser for the CRDS mapping language (crds-rules.md §1.2):
// a restricted Python module of the form `header = {...} [comment = """..."""] selector = ...`.
// Nothing is ever evaluated; the result is the AST of crds/ast.ts with source positions.
// Dict entries keep file order and duplicate keys (certify reports duplicates).

import type { MappingAst, PyCall, PyDict, PyDictEntry, PyValue, Position, SelectorName } from './ast';
import { MappingSyntaxError } from './errors';

export const SELECTOR_NAMES: ReadonlySet<string> = new Set([
  'Match',
  'UseAfter',
  'VersionAfter',
  'SelectVersion',
  'ClosestTime',
  'GeometricallyNearest',
  'Bracket',
]);

type TokenKind = 'str' | 'num' | 'name' | 'op' | 'eof';

interface Token {
  kind: TokenKind;
  text: string; // op character, name, or the raw number text
  value?: string; // decoded string contents
  triple?: boolean; // string was triple-quoted
  line: number;
  column: number;
}

const OPS = new Set(['{', '}', '(', ')', '[', ']', ',', ':', '=', '-', '+', ';']);

/** Decode one Python escape sequence starting after the backslash; returns [text, length consumed]. */
function decodeEscape(src: string, i: number): [string, number] {
  const c = src[i];
  switch (c) {
    case '\n':
      return ['', 1]; // line continuation inside a string
    case '\\':
      return ['\\', 1];
    case "'":
      return ["'", 1];
    case '"':
      return ['"', 1];
    case 'n':
      return ['\n', 1];
    case 'r':
      return ['\r', 1];
    case 't':
      return ['\t', 1];
    case 'b':
      return ['\b', 1];
    case 'f':
      return ['\f', 1];
    case 'a':
      return ['\x07', 1];
    case 'v':
      return ['\v', 1];
    case 'x': {
      const hex = src.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) return [String.fromCharCode(parseInt(hex, 16)), 3];
      break;
    }
    case 'u': {
      const hex = src.slice(i + 1, i + 5);
      if (/^[0-9a-fA-F]{4}$/.test(hex)) return [String.fromCharCode(parseInt(hex, 16)), 5];
      break;
    }
    default:
      if (c !== undefined && c >= '0' && c <= '7') {
        const m = /^[0-7]{1,3}/.exec(src.slice(i, i + 3))!;
        return [String.fromCharCode(parseInt(m[0], 8)), m[0].length];
      }
  }
  // Python keeps unknown escapes verbatim (backslash included).
  return ['\\' + (c ?? ''), c === undefined ? 0 : 1];
}

const NAME_START = /[A-Za-z_]/;
const NUMBER_RE = /(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)/y;
const NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Tokenizer over the whole text; tracks line starts so columns are cheap. */
class Tokenizer {
  private i = 0;
  private line = 1;
  private lineStart = 0;

  constructor(
    private readonly src: string,
    private readonly filename: string,
  ) {}

  fail(reason: string, line = this.line, column = this.i - this.lineStart + 1): never {
    throw new MappingSyntaxError(reason, this.filename, line, column);
  }

  /** Advance over src[from, to), counting newlines. */
  private skipTo(to: number): void {
    const src = this.src;
    let nl = src.indexOf('\n', this.i);
    while (nl !== -1 && nl < to) {
      this.line++;
      this.lineStart = nl + 1;
      nl = src.indexOf('\n', nl + 1);
    }
    this.i = to;
  }

  tokenize(): Token[] {
    const src = this.src;
    const n = src.length;
    const out: Token[] = [];
    for (;;) {
      // whitespace and comments
      while (this.i < n) {
        const c = src.charCodeAt(this.i);
        if (c === 10) {
          this.i++;
          this.line++;
          this.lineStart = this.i;
        } else if (c === 32 || c === 9 || c === 13 || c === 12) {
          this.i++;
        } else if (c === 92 /* \\ */ && src.charCodeAt(this.i + 1) === 10) {
          this.i += 2; // explicit line joining
          this.line++;
          this.lineStart = this.i;
        } else if (c === 35 /* # */) {
          const nl = src.indexOf('\n', this.i);
          this.i = nl === -1 ? n : nl;
        } else {
          break;
        }
      }
      const line = this.line;
      const column = this.i - this.lineStart + 1;
      if (this.i >= n) {
        out.push({ kind: 'eof', text: 'end of file', line, column });
        return out;
      }
      const c = src[this.i];
      if (c === "'" || c === '"') {
        out.push(this.string(line, column));
      } else if (NAME_START.test(c)) {
        NAME_RE.lastIndex = this.i;
        const word = NAME_RE.exec(src)![0];
        const j = this.i + word.length;
        // string prefixes u'', r'' (b'' would be bytes, not legal in a mapping)
        if (/^[uUrR]$/.test(word) && (src[j] === "'" || src[j] === '"')) {
          this.i++;
          out.push(this.string(line, column, word.toLowerCase() === 'r'));
        } else {
          this.i = j;
          out.push({ kind: 'name', text: word, line, column });
        }
      } else if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(src[this.i + 1] ?? ''))) {
        NUMBER_RE.lastIndex = this.i;
        const text = NUMBER_RE.exec(src)![0];
        const after = src[this.i + text.length];
        if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) {
          this.fail(`invalid number literal starting '${text}${after}'`);
        }
        this.i += text.length;
        out.push({ kind: 'num', text, line, column });
      } else if (OPS.has(c)) {
        this.i++;
        out.push({ kind: 'op', text: c, line, column });
      } else {
        this.fail(`unexpected character ${JSON.stringify(c)}`);
      }
    }
  }

  private string(line: number, column: number, raw = false): Token {
    const src = this.src;
    const quote = src[this.i];
    const triple = src.startsWith(quote + quote + quote, this.i);
    const delim = triple ? quote + quote + quote : quote;
    this.i += delim.length;
    // Fast path: no backslash before the closing delimiter (and no newline for '...').
    const close = src.indexOf(delim, this.i);
    if (close !== -1) {
      const body = src.slice(this.i, close);
      if (!body.includes('\\') && (triple || !body.includes('\n'))) {
        this.skipTo(close + delim.length);
        return { kind: 'str', text: delim, value: body, triple, line, column };
      }
    }
    let value = '';
    let chunkStart = this.i;
    for (;;) {
      if (this.i >= src.length) this.fail('unterminated string literal', line, column);
      const c = src[this.i];
      if (c === '\\') {
        value += src.slice(chunkStart, this.i);
        if (raw) {
          value += src.slice(this.i, this.i + 2);
          this.skipTo(this.i + 2);
        } else {
          const [text, used] = decodeEscape(src, this.i + 1);
          value += text;
          this.skipTo(this.i + 1 + used);
        }
        chunkStart = this.i;
      } else if (c === '\n' && !triple) {
        this.fail('end of line inside a string literal', line, column);
      } else if (src.startsWith(delim, this.i)) {
        value += src.slice(chunkStart, this.i);
        this.i += delim.length;
        return { kind: 'str', text: delim, value, triple, line, column };
      } else if (c === '\n') {
        this.i++;
        this.line++;
        this.lineStart = this.i;
      } else {
        this.i++;
      }
    }
  }
}

function describe(tok: Token): string {
  switch (tok.kind) {
    case 'eof':
      return 'end of file';
    case 'str':
      return `string ${JSON.stringify(tok.value!.length > 30 ? tok.value!.slice(0, 30) + '...' : tok.value)}`;
    case 'num':
      return `number ${tok.text}`;
    case 'name':
      return `name '${tok.text}'`;
    default:
      return `'${tok.text}'`;
  }
}

class Parser {
  private k = 0;

  constructor(
    private readonly toks: Token[],
    private readonly filename: string,
  ) {}

  private peek(): Token {
    return this.toks[this.k];
  }

  private next(): Token {
    return this.toks[this.k++];
  }

  private fail(expected: string, tok = this.peek()): never {
    throw new MappingSyntaxError(`expected ${expected} but found ${describe(tok)}`, this.filename, tok.line, tok.column);
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private expectOp(text: string, what = `'${text}'`): Token {
    if (!this.isOp(text)) this.fail(what);
    return this.next();
  }

  parseMapping(): MappingAst {
    const sections: Partial<Record<'header' | 'comment' | 'selector', { value: PyValue; tok: Token; comment?: string }>> = {};
    while (this.peek().kind !== 'eof') {
      const tok = this.peek();
      if (tok.kind !== 'name' || !['header', 'comment', 'selector'].includes(tok.text)) {
        this.fail("a section assignment 'header = ', 'comment = ' or 'selector = '");
      }
      this.next();
      const section = tok.text as 'header' | 'comment' | 'selector';
      if (sections[section]) {
        throw new MappingSyntaxError(`section '${section}' is defined more than once`, this.filename, tok.line, tok.column);
      }
      this.expectOp('=', `'=' after '${section}'`);
      if (section === 'comment') {
        const s = this.peek();
        if (s.kind !== 'str') this.fail('a string for the comment section');
        let text = '';
        while (this.peek().kind === 'str') text += this.next().value;
        sections.comment = { value: { t: 'str', v: text, pos: pos(s) }, tok, comment: text };
      } else if (section === 'header') {
        if (!this.isOp('{')) this.fail("a dict '{' for the header");
        sections.header = { value: this.dict(), tok };
      } else {
        const s = this.peek();
        let value: PyValue;
        if (s.kind === 'op' && s.text === '{') value = this.dict();
        else if (s.kind === 'name' && SELECTOR_NAMES.has(s.text)) value = this.call();
        else this.fail("a dict '{' or a selector call such as Match({...})");
        sections.selector = { value, tok };
      }
      if (this.isOp(';')) this.next();
    }
    const eof = this.peek();
    if (!sections.header) {
      throw new MappingSyntaxError("missing 'header = {...}' section", this.filename, eof.line, eof.column);
    }
    if (!sections.selector) {
      throw new MappingSyntaxError("missing 'selector = ...' section", this.filename, eof.line, eof.column);
    }
    const ast: MappingAst = {
      header: sections.header.value as PyDict,
      selector: sections.selector.value as PyDict | PyCall,
    };
    if (sections.comment) ast.comment = sections.comment.comment;
    return ast;
  }

  private call(): PyCall {
    const nameTok = this.next();
    this.expectOp('(', `'(' after ${nameTok.text}`);
    if (!this.isOp('{')) this.fail(`a dict '{' as the argument of ${nameTok.text}(...)`);
    const arg = this.dict();
    if (this.isOp(',')) this.next(); // Match({...},) is legal Python
    this.expectOp(')', `')' closing ${nameTok.text}(...)`);
    return { t: 'call', name: nameTok.text as SelectorName, arg, pos: pos(nameTok) };
  }

  private dict(): PyDict {
    const open = this.expectOp('{');
    const entries: PyDictEntry[] = [];
    while (!this.isOp('}')) {
      const keyTok = this.peek();
      const key = this.value('a dict key or \'}\'');
      if (!isHashable(key)) {
        throw new MappingSyntaxError(
          `a dict key must be a string, number, tuple, True, False or None, not a ${key.t}`,
          this.filename,
          keyTok.line,
          keyTok.column,
        );
      }
      this.expectOp(':', "':' after a dict key");
      const value = this.value('a value after \':\'');
      entries.push({ key, value, pos: pos(keyTok) });
      if (this.isOp(',')) this.next();
      else if (!this.isOp('}')) this.fail("',' or '}' in a dict");
    }
    this.next();
    return { t: 'dict', entries, pos: pos(open) };
  }

  /** value ::= string | number | tuple | list | dict | selector-call | True | False | None */
  private value(expected: string): PyValue {
    const tok = this.peek();
    switch (tok.kind) {
      case 'str': {
        this.next();
        let v = tok.value!;
        while (this.peek().kind === 'str') v += this.next().value; // implicit concatenation
        return { t: 'str', v, pos: pos(tok) };
      }
      case 'num':
        this.next();
        return number(tok.text, false, tok);
      case 'name':
        if (tok.text === 'True' || tok.text === 'False') {
          this.next();
          return { t: 'bool', v: tok.text === 'True', pos: pos(tok) };
        }
        if (tok.text === 'None') {
          this.next();
          return { t: 'none', pos: pos(tok) };
        }
        if (SELECTOR_NAMES.has(tok.text)) return this.call();
        return this.fail(`${expected} (names other than True, False, None and selector names are not allowed)`);
      case 'op':
        if (tok.text === '-' || tok.text === '+') {
          this.next();
          const n = this.peek();
          if (n.kind !== 'num') this.fail(`a number after unary '${tok.text}'`);
          this.next();
          return number(n.text, tok.text === '-', tok);
        }
        if (tok.text === '{') return this.dict();
        if (tok.text === '(') return this.tuple();
        if (tok.text === '[') return this.list();
        return this.fail(expected);
      default:
        return this.fail(expected);
    }
  }

  /** `(x)` is x; `(x,)` and `(x, y)` are tuples; `()` is the empty tuple. */
  private tuple(): PyValue {
    const open = this.next();
    const items: PyValue[] = [];
    let sawComma = false;
    while (!this.isOp(')')) {
      items.push(this.value("a tuple element or ')'"));
      if (this.isOp(',')) {
        this.next();
        sawComma = true;
      } else if (!this.isOp(')')) {
        this.fail("',' or ')' in a tuple");
      }
    }
    this.next();
    if (items.length === 1 && !sawComma) return items[0];
    return { t: 'tuple', items, pos: pos(open) };
  }

  private list(): PyValue {
    const open = this.next();
    const items: PyValue[] = [];
    while (!this.isOp(']')) {
      items.push(this.value("a list element or ']'"));
      if (this.isOp(',')) this.next();
      else if (!this.isOp(']')) this.fail("',' or ']' in a list");
    }
    this.next();
    return { t: 'list', items, pos: pos(open) };
  }
}

function pos(tok: Token): Position {
  return { line: tok.line, column: tok.column };
}

function number(text: string, negative: boolean, tok: Token): PyValue {
  const isFloat = /[.eE]/.test(text) && !/^0[xX]/.test(text);
  let v = /^0[xX]/.test(text) ? parseInt(text.slice(2), 16) : Number(text);
  if (negative) v = -v;
  return isFloat ? { t: 'float', v, pos: pos(tok) } : { t: 'int', v, pos: pos(tok) };
}

function isHashable(v: PyValue): boolean {
  if (v.t === 'tuple') return v.items.every(isHashable);
  return v.t === 'str' || v.t === 'int' || v.t === 'float' || v.t === 'bool' || v.t === 'none';
}

/** Parse mapping text into its AST. Throws MappingSyntaxError naming file, line and column. */
export function parseMapping(text: string, filename = '<mapping>'): MappingAst {
  const tokens = new Tokenizer(text, filename).tokenize();
  return new Parser(tokens, filename).parseMapping();
}

/** Convert an AST value to a plain JS value: tuples/lists → arrays, dicts → Map-free objects keyed by str(key). */
export function pyToJs(v: PyValue): unknown {
  switch (v.t) {
    case 'str':
    case 'int':
    case 'float':
    case 'bool':
      return v.v;
    case 'none':
      return null;
    case 'tuple':
    case 'list':
      return v.items.map(pyToJs);
    case 'dict': {
      const out: Record<string, unknown> = {};
      for (const e of v.entries) out[pyStr(e.key)] = pyToJs(e.value);
      return out;
    }
    case 'call':
      return { [v.name]: pyToJs(v.arg) };
  }
}

/** Python float repr: shortest round-trip digits, scientific when exponent < -4 or >= 16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // toExponential() with no argument gives the shortest round-trip digits.
  const [mant, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${neg ? '-' : ''}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  let s: string;
  if (exp < 0) {
    s = '0.' + '0'.repeat(-exp - 1) + digits;
  } else if (digits.length <= exp + 1) {
    s = digits + '0'.repeat(exp + 1 - digits.length) + '.0';
  } else {
    s = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  }
  return (neg ? '-' : '') + s;
}

/** Python str() of a scalar AST value (used for conditioning and key ordering). */
export function pyStr(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return v.v;
    case 'int':
      return String(v.v);
    case 'float':
      return pyFloatRepr(v.v);
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'tuple':
      return v.items.length === 1 ? `(${pyRepr(v.items[0])},)` : `(${v.items.map(pyRepr).join(', ')})`;
    case 'list':
      return `[${v.items.map(pyRepr).join(', ')}]`;
    case 'dict':
      return `{${v.entries.map((e) => `${pyRepr(e.key)}: ${pyRepr(e.value)}`).join(', ')}}`;
    case 'call':
      return `${v.name}(${pyStr(v.arg)})`;
  }
}

/** Python repr() of a string. */
// Printable ASCII without quote or backslash: its repr is the text in single quotes.
const PLAIN_REPR_RE = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

export function pyStrRepr(s: string): string {
  if (PLAIN_REPR_RE.test(s)) return "'" + s + "'"; // the usual case, without the loop below
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

/** Python repr() of an AST value. */
export function pyRepr(v: PyValue): string {
  return v.t === 'str' ? pyStrRepr(v.v) : pyStr(v);
}
