// A safe evaluator for the Python expressions of .tpn constraint files (presence conditions
// and X-datatype constraints), e.g. `(ndim(SCI_ARRAY,3))`, `((EXP_TYPE)in(['NRS_IFU']))`,
// `(SCI_ARRAY.SHAPE[-2:]==(1024,1032))`, `(COMPNAME==COMPNAME.lower())`.
//
// Only expressions are accepted (no statements, lambdas, comprehensions, assignment); names
// resolve to header values or to the helper functions the real constraint files call; the
// only attributes are those of array descriptions and a few str methods; evaluation is
// bounded by the expression's size. Python semantics where the constraint files depend on
// them: tuple vs list equality, negative indices and slices, chained comparisons, `in`,
// truthiness, short-circuit and/or returning operands. The syntax is the rmap header
// expressions' (crds/pysyntax.ts); the evaluation here is the richer one constraints need.

import { parseExpression, type Node } from '../pysyntax';

export class PyError extends Error {
  constructor(readonly pyType: string, message: string) {
    super(message);
    this.name = pyType;
  }
}

/** A Python tuple (lists are plain arrays). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** An object with attributes, e.g. an array description (SHAPE, KIND, DATA_TYPE, ...). */
export class PyStruct {
  constructor(readonly typeName: string, readonly attrs: Record<string, PyValue>) {}
}

export type PyFunc = (...args: PyValue[]) => PyValue;
export class PyCallable {
  constructor(readonly name: string, readonly fn: PyFunc) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | string
  | PyValue[]
  | PyTuple
  | PyStruct
  | PyCallable
  | Float64Array
  | { [key: string]: PyValue };

const compiled = new Map<string, Node>();

/** Parse (and cache) an expression; throws PyError('SyntaxError') on anything outside the subset. */
export function compileExpr(src: string): Node {
  let n = compiled.get(src);
  if (!n) {
    if (src.length > 10_000) throw new PyError('SyntaxError', 'expression too long');
    n = parseExpression(src, (m) => new PyError('SyntaxError', m));
    compiled.set(src, n);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Python semantics

export function typeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyStruct) return v.typeName;
  if (v instanceof PyCallable) return 'function';
  if (v instanceof Float64Array) return 'numpy.ndarray';
  return 'dict';
}

export function truthy(v: PyValue): boolean {
  if (v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple) return v.items.length > 0;
  if (v instanceof Float64Array) {
    if (v.length === 1) return v[0] !== 0;
    throw new PyError('ValueError', 'The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()');
  }
  if (typeof v === 'object' && !(v instanceof PyStruct) && !(v instanceof PyCallable)) return Object.keys(v).length > 0;
  return true;
}

export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  if (a instanceof PyTuple && b instanceof PyTuple) return a.items.length === b.items.length && a.items.every((x, i) => pyEquals(x, b.items[i]));
  return a === b;
}

export function pyRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'string') return v.includes("'") && !v.includes('"') ? `"${v}"` : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof PyTuple) return `(${v.items.map(pyRepr).join(', ')}${v.items.length === 1 ? ',' : ''})`;
  if (v instanceof PyStruct) return `<${v.typeName}>`;
  if (v instanceof PyCallable) return `<function ${v.name}>`;
  if (v instanceof Float64Array) return `array(${v.length})`;
  return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
}

function seqItems(v: PyValue, op: string): PyValue[] | string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  if (v instanceof Float64Array) return Array.from(v);
  if (v && typeof v === 'object' && !(v instanceof PyStruct) && !(v instanceof PyCallable)) return Object.keys(v);
  throw new PyError('TypeError', `argument of type '${typeName(v)}' is not iterable${op ? '' : ''}`);
}

function compare(op: string, a: PyValue, b: PyValue): PyValue {
  if (a instanceof Float64Array || b instanceof Float64Array) {
    const n = a instanceof Float64Array ? a.length : (b as Float64Array).length;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = a instanceof Float64Array ? a[i] : (a as number);
      const y = b instanceof Float64Array ? b[i] : (b as number);
      out[i] = Number(compare(op, x, y) as boolean);
    }
    return out;
  }
  switch (op) {
    case '==':
      return pyEquals(a, b);
    case '!=':
      return !pyEquals(a, b);
    case 'in':
    case 'not in': {
      const items = seqItems(b, op);
      let found: boolean;
      if (typeof items === 'string') {
        if (typeof a !== 'string') throw new PyError('TypeError', `'in <string>' requires string as left operand, not ${typeName(a)}`);
        found = items.includes(a);
      } else found = items.some((x) => pyEquals(a, x));
      return op === 'in' ? found : !found;
    }
    case 'is':
      return a === b || (a === null && b === null);
    case 'is not':
      return !(a === b);
  }
  const cmp = order(a, b, op);
  return op === '<' ? cmp < 0 : op === '<=' ? cmp <= 0 : op === '>' ? cmp > 0 : cmp >= 0;
}

function order(a: PyValue, b: PyValue, op: string): number {
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const sa = a instanceof PyTuple ? a.items : Array.isArray(a) ? a : undefined;
  const sb = b instanceof PyTuple ? b.items : Array.isArray(b) ? b : undefined;
  if (sa && sb && a instanceof PyTuple === b instanceof PyTuple) {
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
      if (!pyEquals(sa[i], sb[i])) return order(sa[i], sb[i], op);
    }
    return sa.length - sb.length;
  }
  throw new PyError('TypeError', `'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

function arith(op: string, a: PyValue, b: PyValue): PyValue {
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        if (b === 0) throw new PyError('ZeroDivisionError', 'division by zero');
        return a / b;
      case '//':
        if (b === 0) throw new PyError('ZeroDivisionError', 'integer division or modulo by zero');
        return Math.floor(a / b);
      case '%': {
        if (b === 0) throw new PyError('ZeroDivisionError', 'integer modulo by zero');
        const r = a % b;
        return r !== 0 && r < 0 !== b < 0 ? r + b : r;
      }
      case '**':
        return a ** b;
    }
  }
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
  if (op === '+' && a instanceof PyTuple && b instanceof PyTuple) return new PyTuple([...a.items, ...b.items]);
  if (op === '+' && Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  throw new PyError('TypeError', `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

function normIndex(i: number, n: number): number {
  return i < 0 ? i + n : i;
}

function subscript(obj: PyValue, idx: PyValue | { slice: [PyValue, PyValue, PyValue] }): PyValue {
  if (idx !== null && typeof idx === 'object' && 'slice' in idx && !(idx instanceof PyStruct)) {
    const items = typeof obj === 'string' ? [...obj] : obj instanceof PyTuple ? obj.items : Array.isArray(obj) ? obj : undefined;
    if (!items) throw new PyError('TypeError', `'${typeName(obj)}' object is not subscriptable`);
    const n = items.length;
    const [lo, hi, step] = (idx as { slice: [PyValue, PyValue, PyValue] }).slice;
    const st = step === null ? 1 : (step as number);
    if (st !== 1) throw new PyError('ValueError', 'slice steps are not supported');
    const clamp = (v: number): number => Math.max(0, Math.min(n, normIndex(v, n)));
    const out = items.slice(lo === null ? 0 : clamp(lo as number), hi === null ? n : clamp(hi as number));
    return typeof obj === 'string' ? out.join('') : obj instanceof PyTuple ? new PyTuple(out) : out;
  }
  if (typeof obj === 'string' || obj instanceof PyTuple || Array.isArray(obj) || obj instanceof Float64Array) {
    if (typeof idx !== 'number' || !Number.isInteger(idx)) throw new PyError('TypeError', 'indices must be integers');
    const n = typeof obj === 'string' ? obj.length : obj instanceof PyTuple ? obj.items.length : obj.length;
    const i = normIndex(idx, n);
    if (i < 0 || i >= n) throw new PyError('IndexError', `${typeName(obj)} index out of range`);
    return typeof obj === 'string' ? obj[i] : obj instanceof PyTuple ? obj.items[i] : (obj as PyValue[])[i];
  }
  if (obj && typeof obj === 'object' && !(obj instanceof PyStruct) && !(obj instanceof PyCallable)) {
    const key = String(idx);
    if (!(key in obj)) throw new PyError('KeyError', pyRepr(idx as PyValue));
    return (obj as Record<string, PyValue>)[key];
  }
  throw new PyError('TypeError', `'${typeName(obj)}' object is not subscriptable`);
}

const STR_METHODS: Record<string, (s: string, ...a: PyValue[]) => PyValue> = {
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  strip: (s) => s.trim(),
  startswith: (s, p) => s.startsWith(String(p)),
  endswith: (s, p) => s.endsWith(String(p)),
};

function attribute(obj: PyValue, attr: string): PyValue {
  if (obj instanceof PyStruct) {
    if (!(attr in obj.attrs)) throw new PyError('AttributeError', `'${obj.typeName}' object has no attribute '${attr}'`);
    return obj.attrs[attr];
  }
  if (typeof obj === 'string' && attr in STR_METHODS) return new PyCallable(attr, (...a) => STR_METHODS[attr](obj, ...a));
  if (obj && typeof obj === 'object' && !Array.isArray(obj) && !(obj instanceof PyTuple) && !(obj instanceof PyCallable) && !(obj instanceof Float64Array)) {
    if (attr in obj) return (obj as Record<string, PyValue>)[attr]; // modules such as np
  }
  throw new PyError('AttributeError', `'${typeName(obj)}' object has no attribute '${attr}'`);
}

export type Namespace = (name: string) => PyValue | undefined;

const MAX_STEPS = 1_000_000;

/** Evaluate a compiled expression; names resolve through `lookup`, then `builtins`. */
export function evaluate(node: Node, lookup: Namespace): PyValue {
  let steps = 0;
  const ev = (n: Node): PyValue => {
    if (++steps > MAX_STEPS) throw new PyError('RuntimeError', 'expression evaluation limit exceeded');
    switch (n.k) {
      case 'const':
        return n.v;
      case 'name': {
        const v = lookup(n.id);
        if (v === undefined) throw new PyError('NameError', `name '${n.id}' is not defined`);
        return v;
      }
      case 'attr':
        return attribute(ev(n.obj), n.attr);
      case 'call': {
        const fn = ev(n.fn);
        if (!(fn instanceof PyCallable)) throw new PyError('TypeError', `'${typeName(fn)}' object is not callable`);
        return fn.fn(...n.args.map(ev));
      }
      case 'index': {
        const obj = ev(n.obj);
        if (n.index.k === 'slice') {
          const s = n.index;
          return subscript(obj, { slice: [s.lo ? ev(s.lo) : null, s.hi ? ev(s.hi) : null, s.step ? ev(s.step) : null] });
        }
        return subscript(obj, ev(n.index));
      }
      case 'slice':
        throw new PyError('SyntaxError', 'slice outside subscript');
      case 'unary': {
        const x = ev(n.x);
        if (typeof x !== 'number' && typeof x !== 'boolean') throw new PyError('TypeError', `bad operand type for unary ${n.op}: '${typeName(x)}'`);
        const v = Number(x);
        return n.op === '-' ? -v : n.op === '+' ? v : ~v;
      }
      case 'bin':
        return arith(n.op, ev(n.a), ev(n.b));
      case 'cmp': {
        let left = ev(n.first);
        let result: PyValue = true;
        for (let i = 0; i < n.ops.length; i++) {
          const right = ev(n.rest[i]);
          result = compare(n.ops[i], left, right);
          if (!(result instanceof Float64Array) && !truthy(result)) return result;
          left = right;
        }
        return result;
      }
      case 'bool': {
        // the operand that decides, as Python's and/or
        let v: PyValue = n.op === 'and';
        for (const item of n.items) {
          v = ev(item);
          if (truthy(v) === (n.op === 'or')) return v;
        }
        return v;
      }
      case 'not':
        return !truthy(ev(n.x));
      case 'ifexp':
        return truthy(ev(n.c)) ? ev(n.a) : ev(n.b);
      case 'list':
        return n.items.map(ev);
      case 'tuple':
        return new PyTuple(n.items.map(ev));
      case 'dict': {
        const o: Record<string, PyValue> = {};
        n.keys.forEach((k, i) => (o[String(ev(k))] = ev(n.vals[i])));
        return o;
      }
    }
  };
  return ev(node);
}

// ---------------------------------------------------------------------------------------------
// Builtins available to every expression

function fn(name: string, f: PyFunc): PyCallable {
  return new PyCallable(name, f);
}

function toFloatArray(v: PyValue): Float64Array | undefined {
  if (v instanceof Float64Array) return v;
  return undefined;
}

export const BUILTINS: Record<string, PyValue> = {
  len: fn('len', (x) => {
    const items = typeof x === 'string' ? x : seqItems(x, 'len');
    return items.length;
  }),
  int: fn('int', (x) => {
    if (typeof x === 'number' || typeof x === 'boolean') return Math.trunc(Number(x));
    if (typeof x === 'string' && /^\s*[+-]?\d+\s*$/.test(x)) return Number(x);
    throw new PyError('ValueError', `invalid literal for int() with base 10: ${pyRepr(x)}`);
  }),
  float: fn('float', (x) => {
    const v = Number(typeof x === 'boolean' ? Number(x) : x);
    if (typeof x === 'string' && (x.trim() === '' || Number.isNaN(v))) throw new PyError('ValueError', `could not convert string to float: ${pyRepr(x)}`);
    return v;
  }),
  str: fn('str', (x) => (typeof x === 'string' ? x : pyRepr(x))),
  abs: fn('abs', (x) => Math.abs(Number(x))),
  min: fn('min', (...a) => (a.length === 1 ? (seqItems(a[0], 'min') as PyValue[]) : a).reduce((p, c) => (order(c, p, '<') < 0 ? c : p))),
  max: fn('max', (...a) => (a.length === 1 ? (seqItems(a[0], 'max') as PyValue[]) : a).reduce((p, c) => (order(c, p, '>') > 0 ? c : p))),
  all: fn('all', (x) => {
    const f = toFloatArray(x);
    return f ? f.every((v) => v !== 0) : (seqItems(x, 'all') as PyValue[]).every(truthy);
  }),
  any: fn('any', (x) => {
    const f = toFloatArray(x);
    return f ? f.some((v) => v !== 0) : (seqItems(x, 'any') as PyValue[]).some(truthy);
  }),
  isinstance: fn('isinstance', () => {
    throw new PyError('NameError', "name 'isinstance' is not defined");
  }),
  np: {
    all: fn('all', (x) => {
      const f = toFloatArray(x);
      return f ? f.every((v) => v !== 0) : truthy(x);
    }),
    any: fn('any', (x) => {
      const f = toFloatArray(x);
      return f ? f.some((v) => v !== 0) : truthy(x);
    }),
  },
};
delete (BUILTINS as Record<string, PyValue>).isinstance;
