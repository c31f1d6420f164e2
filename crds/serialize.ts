// Canonical serialization of a mapping (crds-rules.md §1.8) and the sha1sum header
// checksum written with it (§2 "Writing"). The layout is the one the real library's
// Mapping.format() / Selector.format() produce, so that rules we generate are byte for byte
// what the real `crds` library would have written for the same mapping.
//
// Python semantics reproduced here:
//  * a dict literal keeps the *last* value of a duplicated key at the position of its first
//    occurrence (keys 1 and 1.0 are the same key);
//  * header / pmap / imap dicts are written in sorted key order;
//  * selector entries are sorted (stably) by the tuple of str() of their raw key elements.

import type { MappingAst, PyCall, PyDict, PyDictEntry, PyValue } from './ast';
import { mappingChecksum } from './checksum';
import { parseMapping, pyRepr, pyStr } from './parser';

// ---------------------------------------------------------------------------------------
// Python value equality and ordering (only what mapping keys need)

function isNumber(v: PyValue): v is Extract<PyValue, { t: 'int' | 'float' | 'bool' }> {
  return v.t === 'int' || v.t === 'float' || v.t === 'bool';
}

function numberOf(v: Extract<PyValue, { t: 'int' | 'float' | 'bool' }>): number {
  return v.t === 'bool' ? (v.v ? 1 : 0) : v.v;
}

/** Python `==` on hashable literal values (1 == 1.0 == True, tuples element-wise). */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (isNumber(a) && isNumber(b)) return numberOf(a) === numberOf(b);
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'str':
      return a.v === (b as typeof a).v;
    case 'none':
      return true;
    case 'tuple':
    case 'list': {
      const bi = (b as typeof a).items;
      return a.items.length === bi.length && a.items.every((x, i) => pyEquals(x, bi[i]));
    }
    default:
      return false;
  }
}

/** Python `<`-style three-way comparison for keys of the same kind (strings, numbers, tuples). */
export function pyCompare(a: PyValue, b: PyValue): number {
  if (isNumber(a) && isNumber(b)) return numberOf(a) - numberOf(b);
  if (a.t === 'str' && b.t === 'str') return compareStrings(a.v, b.v);
  if ((a.t === 'tuple' || a.t === 'list') && (b.t === 'tuple' || b.t === 'list')) {
    return compareSequences(a.items, b.items, pyCompare);
  }
  // Python would raise TypeError here; fall back to a stable, deterministic order.
  return compareStrings(a.t, b.t);
}

/** Python str comparison: by code point (JS compares UTF-16 units; equal for the BMP). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareSequences<T>(a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = cmp(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** A string equal for keys Python considers the same dict key (1, 1.0 and True; tuples element-wise). */
export function pyHashKey(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return 's' + v.v;
    case 'int':
    case 'float':
    case 'bool':
      return 'n' + numberOf(v);
    case 'none':
      return 'N';
    case 'tuple':
    case 'list':
      return 't(' + v.items.map(pyHashKey).join('\u0000') + ')';
    default:
      return 'x' + pyStr(v);
  }
}

/** The entries a Python dict built from this literal would hold, in insertion order. */
export function dictEntries(d: PyDict): PyDictEntry[] {
  const out: PyDictEntry[] = [];
  const index = new Map<string, number>();
  for (const e of d.entries) {
    const h = pyHashKey(e.key);
    const i = index.get(h);
    if (i !== undefined) out[i] = { ...out[i], value: e.value };
    else {
      index.set(h, out.length);
      out.push(e);
    }
  }
  return out;
}

/** Sort key of a selector entry: tuple of str() of each raw key element (a bare key is a 1-tuple). */
export function selectionSortKey(key: PyValue): string[] {
  return key.t === 'tuple' ? key.items.map(pyStr) : [pyStr(key)];
}

/** Stable sort of selector entries the way the library orders its raw selections. */
export function sortSelections<T extends { key: PyValue }>(entries: T[]): T[] {
  const keyed = entries.map((e) => ({ e, k: selectionSortKey(e.key) }));
  keyed.sort((x, y) => compareSequences(x.k, y.k, compareStrings));
  return keyed.map((x) => x.e);
}

// ---------------------------------------------------------------------------------------
// Formatting

const INDENT = '    ';

/** A dict block `{\n    'k' : v,\n}` with sorted keys; nested dicts are blocks too. */
export function formatDict(d: PyDict, indent = 0): string {
  const prefix = INDENT.repeat(indent);
  const entries = dictEntries(d).slice().sort((a, b) => pyCompare(a.key, b.key));
  let out = '{\n';
  for (const { key, value } of entries) {
    const rval = value.t === 'dict' ? formatDict(value, indent + 1) : pyRepr(value);
    out += `${prefix}${INDENT}${pyRepr(key)} : ${rval},\n`;
  }
  return out + prefix + '}';
}

/** A selector block `Match({\n    key : value,\n})`, nested selectors indented by 4 per level. */
export function formatSelectorCall(call: PyCall, indent = 0): string {
  const lines = [`${call.name}({`];
  for (const { key, value } of sortSelections(dictEntries(call.arg))) {
    const rval = value.t === 'call' ? formatSelectorCall(value, indent + 1) : pyRepr(value);
    lines.push(`${INDENT.repeat(indent + 1)}${pyRepr(key)} : ${rval},`);
  }
  lines.push(`${INDENT.repeat(indent)}})`);
  return lines.join('\n');
}

/** The canonical text of a mapping, exactly as the real library's Mapping.format(). */
export function formatMapping(ast: MappingAst): string {
  const header = formatDict(ast.header);
  const selector = ast.selector.t === 'call' ? formatSelectorCall(ast.selector) : formatDict(ast.selector);
  // An empty comment is falsy in Python and is dropped.
  if (ast.comment) return `header = ${header}\n\ncomment = """${ast.comment}"""\n\nselector = ${selector}\n`;
  return `header = ${header}\n\nselector = ${selector}\n`;
}

// ---------------------------------------------------------------------------------------
// Checksum

/** Header value lookup by string key (last duplicate wins, as in Python). */
export function headerGet(ast: MappingAst, key: string): PyValue | undefined {
  return dictEntries(ast.header).find((e) => e.key.t === 'str' && e.key.v === key)?.value;
}

/** Set (or add) a header string field; returns a new AST, the input is not modified. */
export function withHeaderField(ast: MappingAst, key: string, value: PyValue): MappingAst {
  const entries = dictEntries(ast.header).filter((e) => !(e.key.t === 'str' && e.key.v === key));
  entries.push({ key: { t: 'str', v: key }, value });
  return { ...ast, header: { t: 'dict', entries } };
}

/** Canonical text of `ast` with a correct sha1sum header line, as Mapping.write() does. */
export function withFreshChecksum(ast: MappingAst): string {
  const provisional = formatMapping(withHeaderField(ast, 'sha1sum', { t: 'str', v: '' }));
  return formatMapping(withHeaderField(ast, 'sha1sum', { t: 'str', v: mappingChecksum(provisional) }));
}

/** Re-serialize mapping text canonically with a recomputed sha1sum (`crds checksum`). */
export function rewriteChecksum(text: string, filename?: string): string {
  return withFreshChecksum(parseMapping(text, filename));
}
