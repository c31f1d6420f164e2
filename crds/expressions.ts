// A small, safe evaluator for the Python boolean expressions of rmap headers
// (rmap_relevance, rmap_omit, parkey_relevance; crds-rules.md §3.4). Parsed once into a
// tree and interpreted over a header namespace; never eval / new Function.
//
// Supported (a superset of the 74 distinct expressions of the real rules): parentheses,
// `or`, `and`, `not`, comparisons ==, !=, <, <=, >, >=, in, not in, is, is not (chained like
// Python), `x if c else y`, unary - and +, + and - on numbers/strings, string/number literals,
// tuples, lists, True/False/None, names looked up in the header (missing ⇒ NameError).
// The syntax is shared with the .tpn constraint expressions (crds/pysyntax.ts); the rest of
// that grammar (calls, subscripts, attributes, * / % **, dicts) is refused here.

import { ExpressionError, ExpressionNameError } from './errors';
import { pyFloatRepr, pyStrRepr } from './parser';
import { parseExpression, type Node } from './pysyntax';

export type PyObj = string | number | boolean | null | PyObj[];

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

const isSeq = (n: Node): n is { k: 'list' | 'tuple'; items: Node[] } => n.k === 'list' || n.k === 'tuple';

function isConst(n: Node): boolean {
  return n.k === 'const' || (isSeq(n) && n.items.every(isConst));
}

function constValue(n: Node): PyObj {
  return n.k === 'const' ? n.v : (n as { items: Node[] }).items.map(constValue);
}

const refuse = (what: string, at: number): never => {
  throw new ExpressionError(`${what} not allowed (at column ${at + 1})`);
};

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
    case 'list':
    case 'tuple': {
      // A literal list is built once; nothing downstream mutates it.
      if (isConst(n)) {
        const v = constValue(n);
        return () => v;
      }
      const items = n.items.map(compile);
      return (get, ns) => items.map((f) => f(get, ns));
    }
    case 'not': {
      const a = compile(n.x);
      return (get, ns) => !truthy(a(get, ns));
    }
    case 'unary': {
      if (n.op === '~') return refuse("operator '~' is", n.at);
      const a = compile(n.x);
      const op = n.op;
      return (get, ns) => {
        const v = a(get, ns);
        if (typeof v !== 'number' && typeof v !== 'boolean') throw new ExpressionError(`bad operand type for unary ${op}: '${typeName(v)}'`);
        return op === '-' ? -Number(v) : Number(v);
      };
    }
    case 'bool': {
      const items = n.items.map(compile);
      // and/or return the operand that decides, as Python
      if (n.op === 'and') {
        return (get, ns) => {
          let v: PyObj = true;
          for (const f of items) {
            v = f(get, ns);
            if (!truthy(v)) return v;
          }
          return v;
        };
      }
      return (get, ns) => {
        let v: PyObj = false;
        for (const f of items) {
          v = f(get, ns);
          if (truthy(v)) return v;
        }
        return v;
      };
    }
    case 'ifexp': {
      const [c, a, b] = [compile(n.c), compile(n.a), compile(n.b)];
      return (get, ns) => (truthy(c(get, ns)) ? a(get, ns) : b(get, ns));
    }
    case 'bin': {
      if (n.op !== '+' && n.op !== '-') return refuse(`operator '${n.op}' is`, n.at);
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
    case 'call':
    case 'index':
      return refuse('calls and subscripts are', n.at);
    case 'attr':
      return refuse('attributes are', n.at);
    case 'dict':
      return refuse('dictionaries are', n.at);
    case 'slice':
      return refuse('slices are', 0);
  }
}

/** A compiled header expression. */
export class HeaderExpression {
  private readonly run: Compiled;

  /** Throws ExpressionError when `source` is not in the supported language. */
  constructor(readonly source: string) {
    this.run = compile(parseExpression(source, (m) => new ExpressionError(m)));
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
