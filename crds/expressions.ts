// A small, safe evaluator for the Python boolean expressions of rmap headers
// (rmap_relevance, rmap_omit, parkey_relevance; crds-rules.md §3.4). Parsed once into a
// tree and interpreted over a header namespace; never eval / new Function.
//
// Supported (a superset of the 74 distinct expressions of the real rules): parentheses,
// `or`, `and`, `not`, comparisons ==, !=, <, <=, >, >=, in, not in, is, is not (chained like
// Python), `x if c else y`, unary - and +, + and - on numbers/strings, string/number literals,
// tuples, lists, True/False/None, names looked up in the header (missing ⇒ NameError).

import { ExpressionError, ExpressionNameError } from './errors';
import { pyFloatRepr, pyStrRepr } from './parser';

export type PyObj = string | number | boolean | null | PyObj[];

type Node =
  | { k: 'const'; v: PyObj }
  | { k: 'name'; id: string }
  | { k: 'seq'; items: Node[] }
  | { k: 'not'; a: Node }
  | { k: 'neg'; a: Node; op: '-' | '+' }
  | { k: 'and' | 'or'; items: Node[] }
  | { k: 'cmp'; first: Node; ops: string[]; rest: Node[] }
  | { k: 'bin'; op: '+' | '-'; a: Node; b: Node }
  | { k: 'if'; cond: Node; a: Node; b: Node };

interface Tok {
  t: 'name' | 'str' | 'num' | 'op' | 'eof';
  v: string;
  at: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'True', 'False', 'None']);

function tokenize(src: string): Tok[] {
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
          const e = src[j + 1];
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === c || e === '\\' ? e : '\\' + e;
          j += 2;
        } else {
          v += src[j++];
        }
      }
      if (j >= src.length) throw new ExpressionError(`unterminated string at column ${at + 1}`);
      out.push({ t: 'str', v, at });
      i = j + 1;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '<=', '>='].includes(two)) {
        out.push({ t: 'op', v: two, at });
        i += 2;
      } else if ('()[],<>+-'.includes(c)) {
        out.push({ t: 'op', v: c, at });
        i++;
      } else {
        throw new ExpressionError(`illegal character ${JSON.stringify(c)} at column ${at + 1}`);
      }
    }
  }
  out.push({ t: 'eof', v: '', at: src.length });
  return out;
}

class ExprParser {
  private k = 0;
  constructor(private readonly toks: Tok[]) {}

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
    throw new ExpressionError(`expected ${what} at column ${t.at + 1} but found ${t.t === 'eof' ? 'end of expression' : `'${t.v}'`}`);
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
      const cond = this.or();
      if (!this.isKw('else')) this.fail("'else'");
      this.k++;
      const b = this.test();
      return { k: 'if', cond, a, b };
    }
    return a;
  }

  private or(): Node {
    const items = [this.and()];
    while (this.isKw('or')) {
      this.k++;
      items.push(this.and());
    }
    return items.length === 1 ? items[0] : { k: 'or', items };
  }

  private and(): Node {
    const items = [this.not()];
    while (this.isKw('and')) {
      this.k++;
      items.push(this.not());
    }
    return items.length === 1 ? items[0] : { k: 'and', items };
  }

  private not(): Node {
    if (this.isKw('not')) {
      this.k++;
      return { k: 'not', a: this.not() };
    }
    return this.comparison();
  }

  private comparison(): Node {
    const first = this.arith();
    const ops: string[] = [];
    const rest: Node[] = [];
    for (;;) {
      const t = this.peek();
      let op: string | undefined;
      if (t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) {
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
      rest.push(this.arith());
    }
    return ops.length ? { k: 'cmp', first, ops, rest } : first;
  }

  private arith(): Node {
    let a = this.unary();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.peek().v as '+' | '-';
      this.k++;
      a = { k: 'bin', op, a, b: this.unary() };
    }
    return a;
  }

  private unary(): Node {
    if (this.isOp('-') || this.isOp('+')) {
      const op = this.peek().v as '-' | '+';
      this.k++;
      return { k: 'neg', op, a: this.unary() };
    }
    return this.atom();
  }

  private atom(): Node {
    const t = this.peek();
    if (t.t === 'str') {
      let v = '';
      while (this.peek().t === 'str') v += this.toks[this.k++].v;
      return { k: 'const', v };
    }
    if (t.t === 'num') {
      this.k++;
      return { k: 'const', v: Number(t.v) };
    }
    if (t.t === 'name') {
      if (t.v === 'True' || t.v === 'False') {
        this.k++;
        return { k: 'const', v: t.v === 'True' };
      }
      if (t.v === 'None') {
        this.k++;
        return { k: 'const', v: null };
      }
      if (KEYWORDS.has(t.v)) this.fail('a value');
      this.k++;
      if (this.isOp('(') || this.isOp('[')) throw new ExpressionError(`calls and subscripts are not allowed (at column ${this.peek().at + 1})`);
      return { k: 'name', id: t.v };
    }
    if (t.t === 'op' && (t.v === '(' || t.v === '[')) {
      const close = t.v === '(' ? ')' : ']';
      this.k++;
      const items: Node[] = [];
      let comma = false;
      while (!this.isOp(close)) {
        items.push(this.test());
        if (this.isOp(',')) {
          this.k++;
          comma = true;
        } else if (!this.isOp(close)) {
          this.fail(`',' or '${close}'`);
        }
      }
      this.k++;
      if (close === ')' && items.length === 1 && !comma) return items[0];
      return { k: 'seq', items };
    }
    return this.fail('a value');
  }
}

function truthy(v: PyObj): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  return v === true;
}

function typeName(v: PyObj): string {
  if (v === null) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return 'str';
}

function pyEq(a: PyObj, b: PyObj): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  }
  // Python: True == 1, numbers compare by value; str never equals a number.
  const na = typeof a === 'boolean' ? Number(a) : a;
  const nb = typeof b === 'boolean' ? Number(b) : b;
  return na === nb;
}

function order(op: string, a: PyObj, b: PyObj): boolean {
  const num = (x: PyObj) => typeof x === 'number' || typeof x === 'boolean';
  if (!((num(a) && num(b)) || (typeof a === 'string' && typeof b === 'string'))) {
    throw new ExpressionError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
  }
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

function contains(container: PyObj, item: PyObj): boolean {
  if (Array.isArray(container)) return container.some((x) => pyEq(x, item));
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new ExpressionError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  throw new ExpressionError(`argument of type '${typeName(container)}' is not iterable`);
}

/**
 * Looks a name up in the namespace `ns` (whatever the caller passes through evaluation);
 * undefined ⇒ NameError. Passing the namespace along, instead of closing over it, lets
 * callers evaluate with one static lookup function: no closure per evaluation.
 */
export type NameLookup = (name: string, ns?: unknown) => PyObj | undefined;
type Compiled = (get: NameLookup, ns: unknown) => PyObj;

/**
 * A missing name while evaluating. Thrown inside the compiled closures as a plain object
 * (not an Error: no stack trace to capture, relevance checks meet it on every lookup of
 * some rmaps) and turned into ExpressionNameError, or a returned failure, at the boundary.
 */
class NameMiss {
  constructor(readonly id: string) {}
  get message(): string {
    return `name '${this.id}' is not defined`;
  }
}

/** What HeaderExpression.tryTest returns when evaluation fails: the error's message. */
export interface ExpressionFailure {
  readonly message: string;
}

/** Own-property lookup in a plain namespace object. */
const objectLookup: NameLookup = (name, ns) => {
  const o = ns as Record<string, PyObj | undefined>;
  return Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined;
};

function isConst(n: Node): n is { k: 'const'; v: PyObj } {
  return n.k === 'const' || (n.k === 'seq' && n.items.every(isConst));
}

function constValue(n: Node): PyObj {
  return n.k === 'const' ? n.v : (n as { items: Node[] }).items.map(constValue);
}

/** Compile the tree into nested closures once (still no eval / new Function). */
function compile(n: Node): Compiled {
  switch (n.k) {
    case 'const': {
      const v = n.v;
      return () => v;
    }
    case 'name': {
      const id = n.id;
      return (get, ns) => {
        const v = get(id, ns);
        if (v === undefined) throw new NameMiss(id);
        return v;
      };
    }
    case 'seq': {
      // A literal list is built once; nothing downstream mutates it.
      if (isConst(n)) {
        const v = constValue(n);
        return () => v;
      }
      const items = n.items.map(compile);
      return (get, ns) => items.map((f) => f(get, ns));
    }
    case 'not': {
      const a = compile(n.a);
      return (get, ns) => !truthy(a(get, ns));
    }
    case 'neg': {
      const a = compile(n.a);
      const op = n.op;
      return (get, ns) => {
        const v = a(get, ns);
        if (typeof v !== 'number' && typeof v !== 'boolean') throw new ExpressionError(`bad operand type for unary ${op}: '${typeName(v)}'`);
        return op === '-' ? -Number(v) : Number(v);
      };
    }
    case 'and': {
      const items = n.items.map(compile);
      return (get, ns) => {
        let v: PyObj = true;
        for (const f of items) {
          v = f(get, ns);
          if (!truthy(v)) return v;
        }
        return v;
      };
    }
    case 'or': {
      const items = n.items.map(compile);
      return (get, ns) => {
        let v: PyObj = false;
        for (const f of items) {
          v = f(get, ns);
          if (truthy(v)) return v;
        }
        return v;
      };
    }
    case 'if': {
      const [c, a, b] = [compile(n.cond), compile(n.a), compile(n.b)];
      return (get, ns) => (truthy(c(get, ns)) ? a(get, ns) : b(get, ns));
    }
    case 'bin': {
      const [fa, fb] = [compile(n.a), compile(n.b)];
      const op = n.op;
      return (get, ns) => {
        const a = fa(get, ns);
        const b = fb(get, ns);
        if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
        if ((typeof a === 'number' || typeof a === 'boolean') && (typeof b === 'number' || typeof b === 'boolean')) {
          return op === '+' ? Number(a) + Number(b) : Number(a) - Number(b);
        }
        throw new ExpressionError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
      };
    }
    case 'cmp': {
      const first = compile(n.first);
      const ops = n.ops;
      // The common `NAME in ["A", "B"]` / `NAME == "A"` against literal strings: a string
      // operand compares by set membership / identity (a str never equals a number in
      // Python); other operand types take the general path.
      if (ops.length === 1 && (ops[0] === 'in' || ops[0] === 'not in') && isConst(n.rest[0])) {
        const list = constValue(n.rest[0]);
        if (Array.isArray(list) && list.every((x) => typeof x === 'string')) {
          const set = new Set(list as string[]);
          const negate = ops[0] === 'not in';
          return (get, ns) => {
            const left = first(get, ns);
            const found = typeof left === 'string' ? set.has(left) : contains(list, left);
            return negate ? !found : found;
          };
        }
      }
      const rest = n.rest.map(compile);
      return (get, ns) => {
        let left = first(get, ns);
        for (let i = 0; i < ops.length; i++) {
          const right = rest[i](get, ns);
          const op = ops[i];
          let ok: boolean;
          if (op === '==') ok = pyEq(left, right);
          else if (op === '!=') ok = !pyEq(left, right);
          else if (op === 'in') ok = contains(right, left);
          else if (op === 'not in') ok = !contains(right, left);
          else if (op === 'is') ok = left === right;
          else if (op === 'is not') ok = left !== right;
          else ok = order(op, left, right);
          if (!ok) return false;
          left = right;
        }
        return true;
      };
    }
  }
}

/** A compiled header expression. */
export class HeaderExpression {
  private readonly run: Compiled;

  /** Throws ExpressionError when `source` is not in the supported language. */
  constructor(readonly source: string) {
    this.run = compile(new ExprParser(tokenize(source)).parseAll());
  }

  private exec(get: NameLookup, ns: unknown): PyObj {
    try {
      return this.run(get, ns);
    } catch (exc) {
      if (exc instanceof NameMiss) throw new ExpressionNameError(exc.message);
      throw exc;
    }
  }

  /** Evaluate over `namespace` (header values); throws ExpressionError / ExpressionNameError. */
  evaluate(namespace: Readonly<Record<string, PyObj | undefined>>): PyObj {
    return this.exec(objectLookup, namespace);
  }

  /** Evaluate with a lookup function (called as get(name, ns)) instead of a namespace object. */
  evaluateWith(get: NameLookup, ns?: unknown): PyObj {
    return this.exec(get, ns);
  }

  test(namespace: Readonly<Record<string, PyObj | undefined>>): boolean {
    return truthy(this.exec(objectLookup, namespace));
  }

  testWith(get: NameLookup, ns?: unknown): boolean {
    return truthy(this.exec(get, ns));
  }

  /**
   * test() that returns any evaluation error as a value instead of throwing it; for the
   * relevance / omit checks, where errors are only warnings and frequent (quirk Q3, Q4).
   */
  tryTest(namespace: Readonly<Record<string, PyObj | undefined>>): boolean | ExpressionFailure {
    try {
      return truthy(this.run(objectLookup, namespace));
    } catch (exc) {
      if (exc instanceof NameMiss) return exc;
      return { message: (exc as Error).message };
    }
  }
}

/** Python repr of an expression value (for messages). */
export function pyObjRepr(v: PyObj): string {
  if (typeof v === 'string') return pyStrRepr(v);
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  return `[${v.map(pyObjRepr).join(', ')}]`;
}
