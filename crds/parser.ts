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

// Token kinds of the streaming tokenizer (the parser holds only the current token).
const EOF = 0;
const STR = 1;
const NUM = 2;
const NAME = 3;
const OP = 4;
type TokenKind = typeof EOF | typeof STR | typeof NUM | typeof NAME | typeof OP;

// char codes
const C_LBRACE = 123;
const C_RBRACE = 125;
const C_LPAREN = 40;
const C_RPAREN = 41;
const C_LBRACKET = 91;
const C_RBRACKET = 93;
const C_COMMA = 44;
const C_COLON = 58;
const C_EQUALS = 61;
const C_MINUS = 45;
const C_PLUS = 43;
const C_SEMI = 59;

const isOpCode = (c: number): boolean =>
  c === C_LBRACE ||
  c === C_RBRACE ||
  c === C_LPAREN ||
  c === C_RPAREN ||
  c === C_LBRACKET ||
  c === C_RBRACKET ||
  c === C_COMMA ||
  c === C_COLON ||
  c === C_EQUALS ||
  c === C_MINUS ||
  c === C_PLUS ||
  c === C_SEMI;

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

const NUMBER_RE = /(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)/y;

const isNameStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Recursive-descent parser over a streaming tokenizer: one pass over the text by char codes,
 * no token array; the current token lives in fields (kind, text, value, line, column).
 * Lines are counted as the scan goes, so positions cost no search.
 */
class Parser {
  /** keeps the instance map alive, see below */
  static mapHolder?: Parser;
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private readonly n: number;
  // the current token
  private kind: TokenKind = EOF;
  /** op character, name, or the raw number text */
  private text = '';
  /** op char code */
  private op = 0;
  /** decoded string contents */
  private value = '';
  private tline = 1;
  private tcol = 1;

  constructor(
    private readonly src: string,
    private readonly filename: string,
  ) {
    this.n = src.length;
    this.advance();
  }

  private lexFail(reason: string, line = this.line, column = this.i - this.lineStart + 1): never {
    throw new MappingSyntaxError(reason, this.filename, line, column);
  }

  /** Advance over src[i, to), counting newlines. */
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

  /** Scan the next token into the current-token fields. */
  private advance(): void {
    const src = this.src;
    const n = this.n;
    let i = this.i;
    // whitespace and comments
    while (i < n) {
      const c = src.charCodeAt(i);
      if (c === 32) {
        i++;
      } else if (c === 10) {
        i++;
        this.line++;
        this.lineStart = i;
      } else if (c === 9 || c === 13 || c === 12) {
        i++;
      } else if (c === 92 /* \\ */ && src.charCodeAt(i + 1) === 10) {
        i += 2; // explicit line joining
        this.line++;
        this.lineStart = i;
      } else if (c === 35 /* # */) {
        const nl = src.indexOf('\n', i);
        i = nl === -1 ? n : nl;
      } else {
        break;
      }
    }
    this.i = i;
    const line = (this.tline = this.line);
    const column = (this.tcol = i - this.lineStart + 1);
    if (i >= n) {
      this.kind = EOF;
      this.text = 'end of file';
      return;
    }
    const c = src.charCodeAt(i);
    if (c === 39 || c === 34) {
      this.kind = STR;
      this.value = this.string(line, column, false);
    } else if (isNameStart(c)) {
      let j = i + 1;
      while (j < n && isNameChar(src.charCodeAt(j))) j++;
      const q = src.charCodeAt(j);
      // string prefixes u'', r'' (b'' would be bytes, not legal in a mapping)
      if (j === i + 1 && (c === 117 || c === 85 || c === 114 || c === 82) && (q === 39 || q === 34)) {
        this.i = j;
        this.kind = STR;
        this.value = this.string(line, column, c === 114 || c === 82);
      } else {
        this.i = j;
        this.kind = NAME;
        this.text = src.slice(i, j);
      }
    } else if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) {
      NUMBER_RE.lastIndex = i;
      const text = NUMBER_RE.exec(src)![0];
      const a = src.charCodeAt(i + text.length);
      if (isNameChar(a) || a === 46) {
        this.lexFail(`invalid number literal starting '${text}${src[i + text.length]}'`);
      }
      this.i = i + text.length;
      this.kind = NUM;
      this.text = text;
    } else if (isOpCode(c)) {
      this.i = i + 1;
      this.kind = OP;
      this.op = c;
      this.text = src[i];
    } else {
      this.lexFail(`unexpected character ${JSON.stringify(src[i])}`);
    }
  }

  /** A string literal at this.i (its opening quote); returns its decoded value. */
  private string(line: number, column: number, raw: boolean): string {
    const src = this.src;
    const q = src.charCodeAt(this.i);
    const triple = src.charCodeAt(this.i + 1) === q && src.charCodeAt(this.i + 2) === q;
    const quote = src[this.i];
    const delim = triple ? quote + quote + quote : quote;
    this.i += delim.length;
    // Fast path: no backslash before the closing delimiter (and no newline for '...').
    const close = src.indexOf(delim, this.i);
    if (close !== -1) {
      const body = src.slice(this.i, close);
      if (!body.includes('\\')) {
        if (!triple) {
          if (!body.includes('\n')) {
            this.i = close + 1;
            return body;
          }
        } else {
          this.skipTo(close + 3);
          return body;
        }
      }
    }
    let value = '';
    let chunkStart = this.i;
    for (;;) {
      if (this.i >= src.length) this.lexFail('unterminated string literal', line, column);
      const c = src.charCodeAt(this.i);
      if (c === 92 /* \\ */) {
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
      } else if (c === 10 && !triple) {
        this.lexFail('end of line inside a string literal', line, column);
      } else if (c === q && (!triple || (src.charCodeAt(this.i + 1) === q && src.charCodeAt(this.i + 2) === q))) {
        value += src.slice(chunkStart, this.i);
        this.i += delim.length;
        return value;
      } else if (c === 10) {
        this.i++;
        this.line++;
        this.lineStart = this.i;
      } else {
        this.i++;
      }
    }
  }

  private describe(): string {
    switch (this.kind) {
      case EOF:
        return 'end of file';
      case STR:
        return `string ${JSON.stringify(this.value.length > 30 ? this.value.slice(0, 30) + '...' : this.value)}`;
      case NUM:
        return `number ${this.text}`;
      case NAME:
        return `name '${this.text}'`;
      default:
        return `'${this.text}'`;
    }
  }

  private fail(expected: string): never {
    return this.parseError(`expected ${expected} but found ${this.describe()}`, this.tline, this.tcol);
  }

  /**
   * A grammar error. The whole text is tokenized first, as a separate tokenizer pass would:
   * a tokenizer error anywhere in the file is the one reported.
   */
  private parseError(reason: string, line: number, column: number): never {
    while (this.kind !== EOF) this.advance();
    throw new MappingSyntaxError(reason, this.filename, line, column);
  }

  private pos(): Position {
    return { line: this.tline, column: this.tcol };
  }

  private isOp(code: number): boolean {
    return this.kind === OP && this.op === code;
  }

  private expectOp(code: number, what: string): void {
    if (this.kind !== OP || this.op !== code) this.fail(what);
    this.advance();
  }

  parseMapping(): MappingAst {
    const sections: Partial<Record<'header' | 'comment' | 'selector', { value: PyValue; comment?: string }>> = {};
    while (this.kind !== EOF) {
      const text = this.text;
      if (this.kind !== NAME || (text !== 'header' && text !== 'comment' && text !== 'selector')) {
        this.fail("a section assignment 'header = ', 'comment = ' or 'selector = '");
      }
      const section = text;
      if (sections[section]) {
        this.parseError(`section '${section}' is defined more than once`, this.tline, this.tcol);
      }
      this.advance();
      this.expectOp(C_EQUALS, `'=' after '${section}'`);
      if (section === 'comment') {
        if ((this.kind as TokenKind) !== STR) this.fail('a string for the comment section');
        const p = this.pos();
        let text = '';
        while ((this.kind as TokenKind) === STR) {
          text += this.value;
          this.advance();
        }
        sections.comment = { value: { t: 'str', v: text, pos: p }, comment: text };
      } else if (section === 'header') {
        if (!this.isOp(C_LBRACE)) this.fail("a dict '{' for the header");
        sections.header = { value: this.dict() };
      } else {
        let value: PyValue;
        if (this.isOp(C_LBRACE)) value = this.dict();
        else if (this.kind === NAME && SELECTOR_NAMES.has(this.text)) value = this.call();
        else this.fail("a dict '{' or a selector call such as Match({...})");
        sections.selector = { value };
      }
      if (this.isOp(C_SEMI)) this.advance();
    }
    if (!sections.header) {
      throw new MappingSyntaxError("missing 'header = {...}' section", this.filename, this.tline, this.tcol);
    }
    if (!sections.selector) {
      throw new MappingSyntaxError("missing 'selector = ...' section", this.filename, this.tline, this.tcol);
    }
    const ast: MappingAst = {
      header: sections.header.value as PyDict,
      selector: sections.selector.value as PyDict | PyCall,
    };
    if (sections.comment) ast.comment = sections.comment.comment;
    return ast;
  }

  private call(): PyCall {
    const name = this.text;
    const p = this.pos();
    this.advance();
    this.expectOp(C_LPAREN, `'(' after ${name}`);
    if (!this.isOp(C_LBRACE)) this.fail(`a dict '{' as the argument of ${name}(...)`);
    const arg = this.dict();
    if (this.isOp(C_COMMA)) this.advance(); // Match({...},) is legal Python
    this.expectOp(C_RPAREN, `')' closing ${name}(...)`);
    return { t: 'call', name: name as SelectorName, arg, pos: p };
  }

  private dict(): PyDict {
    if (!this.isOp(C_LBRACE)) this.fail("'{'");
    const open = this.pos();
    this.advance();
    const entries: PyDictEntry[] = [];
    while (!this.isOp(C_RBRACE)) {
      const keyLine = this.tline;
      const keyColumn = this.tcol;
      const key = this.parseValue("a dict key or '}'");
      if (!isHashable(key)) {
        this.parseError(`a dict key must be a string, number, tuple, True, False or None, not a ${key.t}`, keyLine, keyColumn);
      }
      this.expectOp(C_COLON, "':' after a dict key");
      const value = this.parseValue("a value after ':'");
      entries.push({ key, value, pos: { line: keyLine, column: keyColumn } });
      if (this.isOp(C_COMMA)) this.advance();
      else if (!this.isOp(C_RBRACE)) this.fail("',' or '}' in a dict");
    }
    this.advance();
    return { t: 'dict', entries, pos: open };
  }

  /** value ::= string | number | tuple | list | dict | selector-call | True | False | None */
  private parseValue(expected: string): PyValue {
    switch (this.kind) {
      case STR: {
        const p = this.pos();
        let v = this.value;
        this.advance();
        while (this.kind === STR) {
          v += this.value; // implicit concatenation
          this.advance();
        }
        return { t: 'str', v, pos: p };
      }
      case NUM: {
        const p = this.pos();
        const text = this.text;
        this.advance();
        return number(text, false, p);
      }
      case NAME: {
        const text = this.text;
        if (text === 'True' || text === 'False') {
          const p = this.pos();
          this.advance();
          return { t: 'bool', v: text === 'True', pos: p };
        }
        if (text === 'None') {
          const p = this.pos();
          this.advance();
          return { t: 'none', pos: p };
        }
        if (SELECTOR_NAMES.has(text)) return this.call();
        return this.fail(`${expected} (names other than True, False, None and selector names are not allowed)`);
      }
      case OP: {
        const op = this.op;
        if (op === C_MINUS || op === C_PLUS) {
          const p = this.pos();
          const sign = this.text;
          this.advance();
          if ((this.kind as TokenKind) !== NUM) this.fail(`a number after unary '${sign}'`);
          const text = this.text;
          this.advance();
          return number(text, op === C_MINUS, p);
        }
        if (op === C_LBRACE) return this.dict();
        if (op === C_LPAREN) return this.tuple();
        if (op === C_LBRACKET) return this.list();
        return this.fail(expected);
      }
      default:
        return this.fail(expected);
    }
  }

  /** `(x)` is x; `(x,)` and `(x, y)` are tuples; `()` is the empty tuple. */
  private tuple(): PyValue {
    const open = this.pos();
    this.advance();
    const items: PyValue[] = [];
    let sawComma = false;
    while (!this.isOp(C_RPAREN)) {
      items.push(this.parseValue("a tuple element or ')'"));
      if (this.isOp(C_COMMA)) {
        this.advance();
        sawComma = true;
      } else if (!this.isOp(C_RPAREN)) {
        this.fail("',' or ')' in a tuple");
      }
    }
    this.advance();
    if (items.length === 1 && !sawComma) return items[0];
    return { t: 'tuple', items, pos: open };
  }

  private list(): PyValue {
    const open = this.pos();
    this.advance();
    const items: PyValue[] = [];
    while (!this.isOp(C_RBRACKET)) {
      items.push(this.parseValue("a list element or ']'"));
      if (this.isOp(C_COMMA)) this.advance();
      else if (!this.isOp(C_RBRACKET)) this.fail("',' or ']' in a list");
    }
    this.advance();
    return { t: 'list', items, pos: open };
  }
}

function number(text: string, negative: boolean, pos: Position): PyValue {
  const hex = text.length > 1 && (text.charCodeAt(1) === 120 || text.charCodeAt(1) === 88); // 0x / 0X
  let isFloat = false;
  if (!hex) {
    for (let k = 0; k < text.length; k++) {
      const c = text.charCodeAt(k);
      if (c === 46 || c === 101 || c === 69) {
        isFloat = true;
        break;
      }
    }
  }
  let v = hex ? parseInt(text.slice(2), 16) : Number(text);
  if (negative) v = -v;
  return isFloat ? { t: 'float', v, pos } : { t: 'int', v, pos };
}

function isHashable(v: PyValue): boolean {
  if (v.t === 'tuple') return v.items.every(isHashable);
  return v.t === 'str' || v.t === 'int' || v.t === 'float' || v.t === 'bool' || v.t === 'none';
}

/**
 * One Parser kept alive for good (a class static; an unreferenced module const would be
 * garbage): V8 holds an object's field-transition maps weakly, so once
 * the last Parser dies a full GC frees its map and deoptimizes every optimized parser method
 * that embeds it (a load right after a major GC then ran the parser unoptimized, ~4× slower).
 */
Parser.mapHolder = new Parser("header = {'a' : 1}\nselector = {}", '<map holder>');

/** Parse mapping text into its AST. Throws MappingSyntaxError naming file, line and column. */
export function parseMapping(text: string, filename = '<mapping>'): MappingAst {
  return new Parser(text, filename).parseMapping();
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
