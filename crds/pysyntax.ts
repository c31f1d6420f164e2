// The syntax of the Python expressions CRDS evaluates: one tokenizer and parser for the rmap
// header expressions (crds/expressions.ts, a restricted subset compiled for the lookup hot
// path) and the .tpn constraint expressions (crds/certify/pyexpr.ts, calls, subscripts and
// attributes too). Each evaluator walks the tree its own way and rejects what it does not
// support; neither ever uses eval / new Function.

export type Literal = string | number | boolean | null;

export type Node =
  | { k: 'const'; v: Literal }
  | { k: 'name'; id: string }
  | { k: 'attr'; obj: Node; attr: string; at: number }
  | { k: 'call'; fn: Node; args: Node[]; at: number }
  | { k: 'index'; obj: Node; index: Node; at: number }
  | { k: 'slice'; lo?: Node; hi?: Node; step?: Node }
  | { k: 'unary'; op: '-' | '+' | '~'; x: Node; at: number }
  | { k: 'bin'; op: string; a: Node; b: Node; at: number }
  | { k: 'cmp'; first: Node; ops: string[]; rest: Node[] }
  | { k: 'bool'; op: 'and' | 'or'; items: Node[] }
  | { k: 'not'; x: Node }
  | { k: 'ifexp'; c: Node; a: Node; b: Node }
  | { k: 'list' | 'tuple'; items: Node[] }
  | { k: 'dict'; keys: Node[]; vals: Node[]; at: number };

/** How a caller's syntax errors are thrown (each evaluator has its own error class). */
export type SyntaxErrorOf = (message: string) => Error;

interface Tok {
  t: 'name' | 'str' | 'num' | 'op' | 'eof';
  v: string;
  at: number;
}

// longest first: '**' before '*', '<=' before '<'
const OPS = ['**', '//', '==', '!=', '<=', '>=', '(', ')', '[', ']', '{', '}', ',', ':', '.', '+', '-', '*', '/', '%', '<', '>', '~'];
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'True', 'False', 'None', 'lambda', 'for']);
const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

function tokenize(src: string, error: SyntaxErrorOf): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j])) j++;
      out.push({ t: 'name', v: src.slice(i, j), at });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0], at });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          // Python keeps the backslash of an escape it does not know
          const e = src[j + 1];
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === c || e === '\\' ? e : '\\' + e;
          j += 2;
        } else {
          v += src[j++];
        }
      }
      if (j >= src.length) throw error(`unterminated string at column ${at + 1}`);
      out.push({ t: 'str', v, at });
      i = j + 1;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (!op) throw error(`illegal character ${JSON.stringify(c)} at column ${at + 1}`);
      out.push({ t: 'op', v: op, at });
      i += op.length;
    }
  }
  out.push({ t: 'eof', v: '', at: src.length });
  return out;
}

class Parser {
  private k = 0;
  constructor(private readonly toks: Tok[], private readonly error: SyntaxErrorOf) {}

  private peek(): Tok {
    return this.toks[this.k];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private isKw(v: string): boolean {
    const t = this.peek();
    return t.t === 'name' && t.v === v;
  }
  private fail(what: string): never {
    const t = this.peek();
    throw this.error(`expected ${what} at column ${t.at + 1} but found ${t.t === 'eof' ? 'end of expression' : `'${t.v}'`}`);
  }
  private expect(v: string): void {
    if (!this.isOp(v)) this.fail(`'${v}'`);
    this.k++;
  }

  parseAll(): Node {
    const n = this.test();
    if (this.peek().t !== 'eof') this.fail('end of expression');
    return n;
  }

  private test(): Node {
    const a = this.or();
    if (this.isKw('if')) {
      this.k++;
      const c = this.or();
      if (!this.isKw('else')) this.fail("'else'");
      this.k++;
      return { k: 'ifexp', c, a, b: this.test() };
    }
    return a;
  }

  private or(): Node {
    return this.boolChain('or', () => this.and());
  }
  private and(): Node {
    return this.boolChain('and', () => this.not());
  }
  private boolChain(op: 'and' | 'or', next: () => Node): Node {
    const items = [next()];
    while (this.isKw(op)) {
      this.k++;
      items.push(next());
    }
    return items.length === 1 ? items[0] : { k: 'bool', op, items };
  }

  private not(): Node {
    if (this.isKw('not')) {
      this.k++;
      return { k: 'not', x: this.not() };
    }
    return this.comparison();
  }

  private comparison(): Node {
    const first = this.binary(0);
    const ops: string[] = [];
    const rest: Node[] = [];
    for (;;) {
      const t = this.peek();
      let op: string | undefined;
      if (t.t === 'op' && COMPARISONS.has(t.v)) {
        op = t.v;
        this.k++;
      } else if (this.isKw('in')) {
        op = 'in';
        this.k++;
      } else if (this.isKw('not') && this.toks[this.k + 1]?.t === 'name' && this.toks[this.k + 1].v === 'in') {
        op = 'not in';
        this.k += 2;
      } else if (this.isKw('is')) {
        this.k++;
        op = 'is';
        if (this.isKw('not')) {
          this.k++;
          op = 'is not';
        }
      }
      if (!op) break;
      ops.push(op);
      rest.push(this.binary(0));
    }
    return ops.length ? { k: 'cmp', first, ops, rest } : first;
  }

  /** Left-associative binary operators by precedence level: + - then * / // %. */
  private binary(level: number): Node {
    const levelOps = level === 0 ? ['+', '-'] : ['*', '/', '//', '%'];
    const next = (): Node => (level === 0 ? this.binary(1) : this.unary());
    let a = next();
    for (let t = this.peek(); t.t === 'op' && levelOps.includes(t.v); t = this.peek()) {
      this.k++;
      a = { k: 'bin', op: t.v, a, b: next(), at: t.at };
    }
    return a;
  }

  private unary(): Node {
    const t = this.peek();
    if (t.t === 'op' && (t.v === '-' || t.v === '+' || t.v === '~')) {
      this.k++;
      return { k: 'unary', op: t.v, x: this.unary(), at: t.at };
    }
    const a = this.postfix();
    const p = this.peek();
    if (p.t === 'op' && p.v === '**') {
      this.k++;
      return { k: 'bin', op: '**', a, b: this.unary(), at: p.at };
    }
    return a;
  }

  private postfix(): Node {
    let n = this.atom();
    for (;;) {
      const t = this.peek();
      if (this.isOp('.')) {
        this.k++;
        const name = this.peek();
        if (name.t !== 'name') this.fail('an attribute name');
        this.k++;
        n = { k: 'attr', obj: n, attr: name.v, at: t.at };
      } else if (this.isOp('(')) {
        this.k++;
        n = { k: 'call', fn: n, args: this.items(')'), at: t.at };
      } else if (this.isOp('[')) {
        this.k++;
        const index = this.subscript();
        this.expect(']');
        n = { k: 'index', obj: n, index, at: t.at };
      } else return n;
    }
  }

  private subscript(): Node {
    let lo: Node | undefined;
    if (!this.isOp(':')) {
      lo = this.test();
      if (!this.isOp(':')) return lo;
    }
    this.k++;
    const hi = this.isOp(']') || this.isOp(':') ? undefined : this.test();
    let step: Node | undefined;
    if (this.isOp(':')) {
      this.k++;
      step = this.isOp(']') ? undefined : this.test();
    }
    return { k: 'slice', lo, hi, step };
  }

  /** Comma-separated expressions up to `close` (consumed), a trailing comma allowed. */
  private items(close: string, onComma?: () => void): Node[] {
    const items: Node[] = [];
    while (!this.isOp(close)) {
      items.push(this.test());
      if (this.isOp(',')) {
        this.k++;
        onComma?.();
      } else if (!this.isOp(close)) {
        this.fail(`',' or '${close}'`);
      }
    }
    this.k++;
    return items;
  }

  private atom(): Node {
    const t = this.peek();
    if (t.t === 'str') {
      let v = '';
      while (this.peek().t === 'str') v += this.toks[this.k++].v; // implicit concatenation
      return { k: 'const', v };
    }
    if (t.t === 'num') {
      this.k++;
      return { k: 'const', v: Number(t.v) };
    }
    if (t.t === 'name') {
      if (t.v === 'True' || t.v === 'False' || t.v === 'None') {
        this.k++;
        return { k: 'const', v: t.v === 'None' ? null : t.v === 'True' };
      }
      if (KEYWORDS.has(t.v)) this.fail('a value');
      this.k++;
      return { k: 'name', id: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      this.k++;
      let comma = false;
      const items = this.items(')', () => (comma = true));
      return items.length === 1 && !comma ? items[0] : { k: 'tuple', items };
    }
    if (t.t === 'op' && t.v === '[') {
      this.k++;
      return { k: 'list', items: this.items(']') };
    }
    if (t.t === 'op' && t.v === '{') {
      this.k++;
      const keys: Node[] = [];
      const vals: Node[] = [];
      while (!this.isOp('}')) {
        keys.push(this.test());
        this.expect(':');
        vals.push(this.test());
        if (!this.isOp('}')) this.expect(',');
      }
      this.k++;
      return { k: 'dict', keys, vals, at: t.at };
    }
    return this.fail('a value');
  }
}

/** Parse one expression; anything outside the grammar throws error(message). */
export function parseExpression(src: string, error: SyntaxErrorOf): Node {
  return new Parser(tokenize(src, error), error).parseAll();
}
