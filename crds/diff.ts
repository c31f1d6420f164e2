// Logical differences between two mappings (usually two contexts) and the (instrument,
// reference type) pairs they affect (crds-rules.md §7), as the real library's
// Mapping.difference / Selector.difference and crds.diff.MappingDifferencer.get_affected
// compute them. Differences keep the library's tuple shape so that messages, ordering and
// the affected-types logic are the same; the JSON form names the parts.

import type { MappingAst, PyCall, PyValue, SelectorName } from './ast';
import { CrdsError } from './errors';
import { parseMapping, pyRepr, pyStr, pyToJs } from './parser';
import { compareSequences, compareStrings, dictEntries, headerGet, pyEquals, pyHashKey, sortSelections } from './serialize';

/** One element of a difference: a (old, new) mapping pair, a key tuple, or the message. */
export type DiffElement = string | string[];

/** A difference in the library's shape: path elements then the message, with parallel names. */
export interface Difference {
  /** e.g. [[old.pmap, new.pmap], [old.imap, new.imap], [old.rmap, new.rmap], [match values], [date, time], message] */
  tuple: DiffElement[];
  /** e.g. ['PipelineContext', 'InstrumentContext', 'ReferenceMapping', [match parkeys], ['DATE-OBS','TIME-OBS'], 'DIFFERENCE'] */
  parameterNames: DiffElement[];
  instrument?: string;
  filekind?: string;
}

export interface DiffOptions {
  /** Also report mapping header changes (`header replaced 'k' = a with b`, ...). */
  includeHeaderDiffs?: boolean;
  /** When a whole mapping is added or deleted, also list every file inside it. */
  recurseAddedDeleted?: boolean;
}

/** Loads a mapping's text by basename. */
export type MappingLoader = (name: string) => string;

const SPECIAL_VALUES = new Set(['N/A', 'TEMP_N/A', 'n/a', 'temp_n/a', 'OMIT', 'TEMP_OMIT', 'omit']);

function isSpecial(value: string): boolean {
  return SPECIAL_VALUES.has(value);
}

function basename(name: string): string {
  return name.split('/').pop()!;
}

/** Python ordering of difference tuples: longer first, then element-wise. */
export function compareDifferences(a: Difference, b: Difference): number {
  if (a.tuple.length !== b.tuple.length) return b.tuple.length - a.tuple.length;
  return compareSequences(a.tuple, b.tuple, compareElements);
}

function compareElements(a: DiffElement, b: DiffElement): number {
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return compareSequences(a, b, compareStrings);
  return typeof a === 'string' ? -1 : 1; // Python would raise; never happens in real diffs
}

// ---------------------------------------------------------------------------------------
// Loaded mappings

interface Selector {
  cls: SelectorName;
  parameters: string[];
  entries: { key: PyValue; value: Selector | PyValue }[];
}

function isSelector(v: Selector | PyValue): v is Selector {
  return (v as Selector).cls !== undefined;
}

interface Loaded {
  name: string;
  kind: 'PipelineContext' | 'InstrumentContext' | 'ReferenceMapping';
  ast: MappingAst;
  header: Record<string, unknown>;
  /** pmap/imap selections: lower-cased key → value, in file order. */
  selections?: Map<string, string>;
  selector?: Selector;
}

class Loader {
  private readonly cache = new Map<string, Loaded>();
  constructor(private readonly load: MappingLoader) {}

  get(name: string): Loaded {
    const base = basename(name);
    let m = this.cache.get(base);
    if (!m) {
      const ast = parseMapping(this.load(base), base);
      const header = pyToJs(ast.header) as Record<string, unknown>;
      const kind = base.endsWith('.pmap') ? 'PipelineContext' : base.endsWith('.imap') ? 'InstrumentContext' : 'ReferenceMapping';
      m = { name: base, kind, ast, header };
      if (ast.selector.t === 'dict') {
        m.selections = new Map();
        for (const e of dictEntries(ast.selector)) m.selections.set(pyStr(e.key).toLowerCase(), pyStr(e.value));
      } else {
        const parkey = ((header.parkey as unknown[]) ?? []).map((p) => (Array.isArray(p) ? p.map(String) : [String(p)]));
        m.selector = buildSelector(ast.selector, parkey, 0);
      }
      this.cache.set(base, m);
    }
    return m;
  }
}

function buildSelector(call: PyCall, parkey: string[][], level: number): Selector {
  return {
    cls: call.name,
    parameters: parkey[level] ?? [],
    entries: sortSelections(dictEntries(call.arg)).map((e) => ({
      key: e.key,
      value: e.value.t === 'call' ? buildSelector(e.value, parkey, level + 1) : e.value,
    })),
  };
}

/** Python repr of a header value for header difference messages. */
function headerRepr(ast: MappingAst, key: string): string {
  const v = headerGet(ast, key)!;
  // LowerCaseDict: strings read lower-cased unless they are "(expressions)"
  if (v.t === 'str' && !(v.v.startsWith('(') && v.v.endsWith(')'))) return pyRepr({ t: 'str', v: v.v.toLowerCase() });
  return pyRepr(v);
}

function headerValueKey(ast: MappingAst, key: string): string {
  return headerRepr(ast, key);
}

/** A context's parkey, e.g. ['INSTRUME'] or ['REFTYPE']. */
function parkeyNames(m: Loaded): DiffElement {
  return ((m.header.parkey as unknown[]) ?? []).map(String);
}

function lower(v: unknown): string {
  return String(v ?? '').toLowerCase();
}

// ---------------------------------------------------------------------------------------
// Mapping.difference

function headerDifferences(a: Loaded, b: Loaded, path: DiffElement[], pars: DiffElement[]): Difference[] {
  const out: Difference[] = [];
  const pair = [a.name, b.name];
  const keysA = dictEntries(a.ast.header).map((e) => pyStr(e.key));
  const keysB = dictEntries(b.ast.header).map((e) => pyStr(e.key));
  const names = [...pars, a.kind, 'DIFFERENCE'];
  for (const key of keysA) {
    if (!keysB.includes(key)) {
      out.push({ tuple: [...path, pair, `deleted header ${pyRepr({ t: 'str', v: key })} = ${headerRepr(a.ast, key)}`], parameterNames: names });
    } else if (headerValueKey(a.ast, key) !== headerValueKey(b.ast, key)) {
      out.push({
        tuple: [...path, pair, `header replaced ${pyRepr({ t: 'str', v: key })} = ${headerRepr(a.ast, key)} with ${headerRepr(b.ast, key)}`],
        parameterNames: names,
      });
    }
  }
  for (const key of keysB) {
    if (!keysA.includes(key)) {
      out.push({ tuple: [...path, pair, `header added ${pyRepr({ t: 'str', v: key })} = ${headerRepr(b.ast, key)}`], parameterNames: names });
    }
  }
  return out.sort(compareDifferences);
}

function mappingDifference(
  loader: Loader,
  a: Loaded,
  b: Loaded,
  path: DiffElement[],
  pars: DiffElement[],
  opts: DiffOptions,
): Difference[] {
  if (a.kind === 'ReferenceMapping') {
    const header = opts.includeHeaderDiffs ? headerDifferences(a, b, path, pars) : [];
    if (!a.selector || !b.selector) throw new CrdsError(`'${a.name}' or '${b.name}' has no selector.`);
    const body = selectorDifference(a.selector, b.selector, [...path, [a.name, b.name]], [...pars, a.kind], true);
    const diffs = [...header, ...body];
    for (const d of diffs) {
      d.instrument = lower(a.header.instrument);
      d.filekind = lower(a.header.filekind);
    }
    return diffs;
  }
  const out = opts.includeHeaderDiffs ? headerDifferences(a, b, path, pars) : [];
  const pair = [a.name, b.name];
  const names = [...pars, a.kind, parkeyNames(a), 'DIFFERENCE'];
  const selA = a.selections!;
  const selB = b.selections!;
  const sha1 = (value: string) => (isSpecial(value) ? value : lower(loader.get(value).header.sha1sum));
  for (const [key, valueA] of selA) {
    let diff: Difference | undefined;
    let nested: Difference[] = [];
    const valueB = selB.get(key);
    if (valueB === undefined) {
      diff = { tuple: [...path, pair, [key], `deleted ${pyRepr({ t: 'str', v: valueA })}`], parameterNames: names };
      if (opts.recurseAddedDeleted && !isSpecial(valueA)) {
        nested = diffFiles(loader, loader.get(valueA), 'deleted', [...path, [a.name]], [...pars, a.kind]);
      }
    } else if (valueA !== valueB) {
      // identical contents under another path (cache-to-cache) are not a replacement
      if (sha1(valueA) !== sha1(valueB)) {
        diff = {
          tuple: [...path, pair, [key], `replaced ${pyRepr({ t: 'str', v: valueA })} with ${pyRepr({ t: 'str', v: valueB })}`],
          parameterNames: names,
        };
      }
      if (!isSpecial(valueA) && !isSpecial(valueB)) {
        nested = mappingDifference(loader, loader.get(valueA), loader.get(valueB), [...path, pair], [...pars, a.kind], opts);
      } else if (opts.recurseAddedDeleted) {
        if (!isSpecial(valueA)) nested = diffFiles(loader, loader.get(valueA), 'deleted', [...path, [a.name]], [...pars, a.kind]);
        else if (!isSpecial(valueB)) nested = diffFiles(loader, loader.get(valueB), 'added', [...path, [a.name]], [...pars, a.kind]);
      }
    }
    if (a.name === b.name && nested.length === 0) diff = undefined;
    if (diff) out.push(diff);
    out.push(...nested);
  }
  for (const [key, valueB] of selB) {
    if (selA.has(key)) continue;
    out.push({ tuple: [...path, pair, [key], `added ${pyRepr({ t: 'str', v: valueB })}`], parameterNames: names });
    if (opts.recurseAddedDeleted && !isSpecial(valueB)) {
      out.push(...diffFiles(loader, loader.get(valueB), 'added', [...path, [a.name]], [...pars, a.kind]));
    }
  }
  if (a.kind === 'InstrumentContext') for (const d of out) d.instrument = lower(a.header.instrument);
  return out.sort(compareDifferences);
}

/** Mapping.diff_files: one difference per file inside an added or deleted mapping. */
function diffFiles(loader: Loader, m: Loaded, change: 'added' | 'deleted', path: DiffElement[], pars: DiffElement[]): Difference[] {
  if (m.kind === 'ReferenceMapping') {
    const diffs = flatDiff(m.selector!, `${change} terminal`, [...path, m.name], [...pars, m.kind]);
    for (const d of diffs) {
      d.instrument = lower(m.header.instrument);
      d.filekind = lower(m.header.filekind);
    }
    return diffs;
  }
  const out: Difference[] = [];
  for (const [key, value] of m.selections!) {
    if (!isSpecial(value)) {
      out.push(...diffFiles(loader, loader.get(value), change, [...path, key], [...pars, m.kind]));
    } else {
      out.push({
        tuple: [...path, [m.name], [key], `${change} ${pyRepr({ t: 'str', v: value })}`],
        parameterNames: [...pars, m.kind, parkeyNames(m), 'DIFFERENCE'],
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Selector.difference

/** Python truthiness of a raw key: (), '' and 0 are false. */
function truthy(key: PyValue): boolean {
  if (key.t === 'tuple' || key.t === 'list') return key.items.length > 0;
  if (key.t === 'str') return key.v.length > 0;
  if (key.t === 'int' || key.t === 'float') return key.v !== 0;
  if (key.t === 'bool') return key.v;
  return key.t !== 'none';
}

/** Selector._diff_key: the key's values as strings (UseAfter keys split into date and time). */
function diffKey(sel: Selector, key: PyValue): string[] {
  let values: string[];
  if (sel.cls === 'UseAfter' || sel.cls === 'VersionAfter' || sel.cls === 'ClosestTime') {
    const s = pyStr(key);
    values = sel.parameters.length === 1 ? [s] : s.split(/\s+/).filter((x) => x);
  } else {
    values = (key.t === 'tuple' ? key.items : [key]).map(pyStr);
  }
  return values.slice(0, sel.parameters.length);
}

function selectorRepr(sel: Selector): string {
  const params = sel.parameters.length === 1 ? `(${pyRepr({ t: 'str', v: sel.parameters[0] })},)` : `(${sel.parameters.map((p) => pyRepr({ t: 'str', v: p })).join(', ')})`;
  return `${sel.cls}Selector(${params}, nselections=${sel.entries.length})`;
}

function valueRepr(v: Selector | PyValue): string {
  return isSelector(v) ? selectorRepr(v) : pyRepr(v);
}

function message(sel: Selector, path: DiffElement[], pars: DiffElement[], key: PyValue | undefined, text: string): Difference {
  const p = [...path];
  const n = [...pars];
  if (key !== undefined && truthy(key)) {
    p.push(diffKey(sel, key));
    n.push(sel.parameters);
  }
  return { tuple: [...p, text], parameterNames: [...n, 'DIFFERENCE'] };
}

function selectorDifference(a: Selector, b: Selector | PyValue, path: DiffElement[], pars: DiffElement[], top: boolean): Difference[] {
  if (!isSelector(b) || a.cls !== b.cls) {
    const other = isSelector(b) ? b.cls : b.t === 'str' && b.v === 'N/A' ? 'N/A' : pythonTypeName(b);
    return [message(a, path, pars, undefined, `different classes ${a.cls} : ${other}`)];
  }
  if (a.parameters.join('\u0000') !== b.parameters.join('\u0000') || a.parameters.length !== b.parameters.length) {
    const tup = (ps: string[]) => (ps.length === 1 ? `(${pyRepr({ t: 'str', v: ps[0] })},)` : `(${ps.map((p) => pyRepr({ t: 'str', v: p })).join(', ')})`);
    return [message(a, path, pars, undefined, `different parameter lists  ${tup(a.parameters)} : ${tup(b.parameters)}`)];
  }
  const out: Difference[] = [];
  const bMap = new Map(b.entries.map((e) => [pyHashKey(e.key), e.value]));
  const aKeys = new Set(a.entries.map((e) => pyHashKey(e.key)));
  for (const { key, value } of a.entries) {
    const pkey = diffKey(a, key);
    const other = bMap.get(pyHashKey(key));
    if (other === undefined) {
      if (isSelector(value)) out.push(...flatDiff(value, `deleted ${a.cls} rule for`, [...path, pkey], [...pars, a.parameters]));
      else if (top) out.push(message(a, path, pars, key, `deleted ${a.cls} rule for ${pyRepr(value)}`));
      else out.push(message(a, path, pars, key, `deleted terminal ${pyRepr(value)}`));
    } else if (isSelector(value)) {
      out.push(...selectorDifference(value, other, [...path, pkey], [...pars, a.parameters], false));
    } else if (isSelector(other) || !pyEquals(value, other)) {
      out.push(message(a, path, pars, key, `replaced ${pyRepr(value)} with ${valueRepr(other)}`));
    }
  }
  for (const { key, value } of b.entries) {
    if (aKeys.has(pyHashKey(key))) continue;
    const pkey = diffKey(a, key);
    if (isSelector(value)) out.push(...flatDiff(value, `added ${a.cls} rule for`, [...path, pkey], [...pars, a.parameters]));
    else if (top) out.push(message(a, path, pars, key, `added ${a.cls} rule for ${pyRepr(value)}`));
    else out.push(message(a, path, pars, key, `added terminal ${pyRepr(value)}`));
  }
  return out;
}

function pythonTypeName(v: PyValue): string {
  return { str: 'str', int: 'int', float: 'float', none: 'NoneType', bool: 'bool', tuple: 'tuple', list: 'list', dict: 'dict', call: 'Selector' }[v.t];
}

function flatDiff(sel: Selector, change: string, path: DiffElement[], pars: DiffElement[]): Difference[] {
  const out: Difference[] = [];
  for (const { key, value } of sel.entries) {
    if (isSelector(value)) out.push(...flatDiff(value, change, [...path, diffKey(sel, key)], [...pars, sel.parameters]));
    else out.push(message(sel, path, pars, key, `${change} ${pyRepr(value)}`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Public API

/** The logical differences between mappings `oldName` and `newName` (crds.diff.mapping_diffs). */
export function mappingDifferences(oldName: string, newName: string, load: MappingLoader, opts: DiffOptions = {}): Difference[] {
  const loader = new Loader(load);
  const a = loader.get(oldName);
  const b = loader.get(newName);
  if (a.kind !== b.kind) throw new CrdsError(`'${oldName}' and '${newName}' are not the same kind of CRDS mapping.`);
  return mappingDifference(loader, a, b, [], [], opts).sort(compareDifferences);
}

/** diff.diff_action: replace / add / delete / class_difference / parkey_difference, + _rule / _header. */
export function diffAction(d: Difference): string {
  const msg = d.tuple[d.tuple.length - 1] as string;
  let result: string;
  if (msg.includes('replace')) result = 'replace';
  else if (msg.includes('add')) result = 'add';
  else if (msg.includes('delete')) result = 'delete';
  else if (msg.includes('different classes')) result = 'class_difference';
  else if (msg.includes('different parameter')) result = 'parkey_difference';
  else throw new CrdsError(`Bad difference action: ${msg}`);
  if (msg.includes('rule')) result += '_rule';
  else if (msg.includes('header')) result += '_header';
  return result;
}

const BORING = ['name', 'derived_from', 'sha1sum', 'row_keys'];

/** diff.remove_boring: drop differences about names, derivation and checksums. */
export function removeBoring(diffs: Difference[]): Difference[] {
  return diffs.filter((d) => !BORING.some((b) => String(d.tuple[d.tuple.length - 1]).includes(b)));
}

/** (instrument, filekind) of a mapping name: pmap ('', ''), imap (instr, ''), rmap (instr, type). */
function nameProperties(name: string): [string, string] {
  const stem = basename(name).replace(/\.[pir]map$/, '').replace(/_\d+$/, '');
  const fields = stem.split('_');
  if (name.endsWith('.pmap')) return ['', ''];
  if (name.endsWith('.imap')) return [fields[1] ?? '', ''];
  return [fields[1] ?? '', fields.slice(2).join('_')];
}

/**
 * MappingDifferencer.get_affected: {instrument: [types]} whose rules changed between two
 * contexts (sorted here; the library returns its lists in set order).
 */
export function affectedTypes(oldName: string, newName: string, load: MappingLoader, opts: DiffOptions = {}): Record<string, string[]> {
  const loader = new Loader(load);
  const diffs = removeBoring(mappingDifferences(oldName, newName, load, opts));
  const affected = new Map<string, Set<string>>();
  // Like the library, the (instrument, type) seen last persists from step to step.
  let instrument = '';
  let filekind = '';
  for (const d of diffs) {
    const msg = d.tuple[d.tuple.length - 1] as string;
    for (const step of d.tuple) {
      if (Array.isArray(step) && step.length === 2 && /\.[pir]map$/.test(step[0])) {
        [instrument, filekind] = nameProperties(step[0]);
      } else if (/^(added|deleted)/.test(msg) && msg.endsWith(".rmap'")) {
        const rmapName = msg.split(/\s+/).pop()!.replace(/'/g, '');
        const rmap = loader.get(rmapName);
        instrument = lower(rmap.header.instrument);
        filekind = lower(rmap.header.filekind);
      }
      if (instrument.trim() && filekind.trim()) {
        if (!affected.has(instrument)) affected.set(instrument, new Set());
        affected.get(instrument)!.add(filekind);
      }
    }
  }
  const out: Record<string, string[]> = {};
  for (const [instr, kinds] of [...affected].sort(([x], [y]) => compareStrings(x, y))) out[instr] = [...kinds].sort();
  return out;
}

/** A difference as JSON: the library's tuple plus named parts. */
export function differenceToJson(d: Difference): Record<string, unknown> {
  return {
    diff: d.tuple,
    parameter_names: d.parameterNames,
    action: diffAction(d),
    instrument: d.instrument ?? null,
    filekind: d.filekind ?? null,
  };
}
