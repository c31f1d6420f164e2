// Rules generation (crds-rules.md §5): insert or replace references in an rmap from their
// header parameters, delete references, and derive the new imap/pmap chain (`newcontext`).
// Output text is byte-identical to what the real library writes for the same operation
// (crds.refactoring.refactor / newcontext, ReferenceMapping.insert_header_reference /
// delete, Selector._insert), which test/refactor checks against the library itself.
//
// Inputs are texts and names, never paths: the caller (an activity) reads and writes files.

import type { MappingAst, PyCall, PyValue, SelectorName } from './ast';
import { conditionHeader, conditionHeaderKeys, conditionValue } from './conditioning';
import { AmbiguousMatchError, CrdsError, MappingFormatError, ValidationError } from './errors';
import { HeaderExpression, type PyObj } from './expressions';
import { parseMapping, pyFloatRepr, pyRepr, pyToJs } from './parser';
import { dictEntries, headerGet, pyEquals, sortSelections, withFreshChecksum, withHeaderField } from './serialize';
import { JWST_HEADER_SYNONYMS, JWST_PATTERN_TRANSLATIONS } from './jwst-keywords';
import { INSTRUMENT_KEYWORDS } from './mappings';
import { esotericKey, globList } from './matchers';
import { reformatDate } from './timestamp';

/** Reference file header values, keyword → value as read from the file (strings). */
export type ReferenceHeader = Record<string, string>;

export interface ReferenceToInsert {
  /** Basename written into the rmap, e.g. `lcb12060j_drk.fits`. */
  basename: string;
  /** The reference file's header keywords (reference vocabulary, with USEAFTER). */
  header: ReferenceHeader;
}

/**
 * HST wildcard expansions (crds/hst/substitutions.dat): instrument (lower case) → parkey →
 * condition expression → expansion. Insertion order matters (later true rules win).
 */
export type WildcardExpansions = Record<string, Record<string, Record<string, string>>>;

export interface InsertOptions {
  /** Wildcard expansion rules of the observatory; none ⇒ no expansion (JWST's file is empty). */
  wildcardExpansions?: WildcardExpansions;
  /** Fake an unparseable/missing USEAFTER as 1900-01-01 00:00:00 (CRDS_ALLOW_BAD_USEAFTER). */
  allowBadUseafter?: boolean;
  /**
   * Legal values per parkey from the type's `_ld.tpn` constraints, conditioned (the library's
   * ReferenceMapping.tpn_valid_values); omitted ⇒ values unchecked (CRDS_ALLOW_BAD_PARKEY_VALUES).
   */
  validValues?: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------
// Glob helpers of crds.core.selectors (esotericKey, globList: crds/matchers)

export function globCompress(value: string): string {
  return globList(value).join('|');
}

function isProperSuperset(a: Set<string>, b: Set<string>): boolean {
  if (a.size <= b.size) return false;
  for (const x of b) if (!a.has(x)) return false;
  return true;
}

/** selectors.match_superset: `referenceTuple` matches at least whenever `rmapTuple` does. */
export function matchSuperset(referenceTuple: string[], rmapTuple: string[]): boolean {
  for (let i = 0; i < referenceTuple.length; i++) {
    const v1 = referenceTuple[i];
    const v2 = rmapTuple[i];
    if (v1 === v2 || v1 === '*' || v2 === 'N/A' || (v1 === 'N/A' && v2 === '*')) continue;
    if (v2 === '*') return false;
    const s1 = new Set(globList(v1));
    const s2 = new Set(globList(v2));
    if (isProperSuperset(s1, s2)) continue;
    if (isProperSuperset(s2, s1)) return false;
    return false; // v1 != v2 here
  }
  return true;
}

/** selectors.different_match_weight: N/A columns make two keys weigh differently. */
export function differentMatchWeight(subkey: string[], superkey: string[]): boolean {
  let superCount = subkey.length;
  let subCount = subkey.length;
  for (let i = 0; i < subkey.length; i++) {
    if (subkey[i] === 'N/A' && superkey[i] !== 'N/A') subCount--;
    else if (superkey[i] === 'N/A' && subkey[i] !== 'N/A') superCount--;
  }
  return subCount !== superCount;
}

// ---------------------------------------------------------------------------------------
// Python-ish views of the rmap header

/** Header value as the library's LowerCaseDict returns it (strings lower-cased unless "(...)"). */
function lowerView(v: unknown): unknown {
  if (typeof v === 'string' && !(v.startsWith('(') && v.endsWith(')'))) return v.toLowerCase();
  return v;
}

function strList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x));
  if (typeof v === 'string') return [...v]; // tuple("abc") in Python; never seen in real rules
  return [];
}

/** Python str() of a key element for conditioning (str, int, float, bool). */
function elementStr(v: PyValue): string {
  switch (v.t) {
    case 'str':
      return v.v;
    default:
      return pyStrOf(v);
  }
}

function pyStrOf(v: PyValue): string {
  // str(1) = '1', str(2.0) = '2.0', str(True) = 'True'
  return v.t === 'str' ? v.v : pyRepr(v);
}

// ---------------------------------------------------------------------------------------
// The selector tree being edited

interface SelectorNode {
  cls: SelectorName;
  parameters: string[];
  entries: SelectorEntry[];
}

interface SelectorEntry {
  key: PyValue;
  value: SelectorNode | PyValue;
}

function isNode(v: SelectorNode | PyValue): v is SelectorNode {
  return (v as SelectorNode).cls !== undefined;
}

const DEFAULT_SUBSTITUTIONS: Record<string, Record<string, unknown>> = {
  'META.SUBARRAY.NAME': { GENERIC: 'N/A' },
  SUBARRAY: { GENERIC: 'N/A' },
};

/** Special rmap header behaviour shared by every selector of one rmap. */
interface RmapContext {
  observatory: string;
  mergeOverlaps: boolean;
  commentParkeys: string[]; // upper case
  substitutions: Record<string, Record<string, unknown>>;
  validValues?: Record<string, string[]>;
}

function str(value: string): PyValue {
  return { t: 'str', v: value };
}

function tupleOf(items: string[]): PyValue {
  return { t: 'tuple', items: items.map(str) };
}

/** A reference mapping (rmap) opened for editing. */
export class RmapEditor {
  private ast: MappingAst;
  private root: SelectorNode;
  private readonly ctx: RmapContext;
  readonly observatory: string;
  readonly instrument: string;
  readonly filekind: string;

  constructor(text: string, readonly filename: string) {
    this.ast = parseMapping(text, filename);
    const h = (k: string) => this.header(k);
    this.observatory = String(h('observatory') ?? '');
    this.instrument = String(h('instrument') ?? '');
    this.filekind = String(h('filekind') ?? '');
    if (this.ast.selector.t !== 'call') throw new MappingFormatError(`'${filename}' is not a reference mapping.`);
    const parkey = (this.rawHeader('parkey') as unknown[] | undefined) ?? [['UNDEFINED']];
    this.root = fromCall(this.ast.selector, parkey.map(strList), 0);
    const rawSubs = (this.rawHeader('substitutions') as Record<string, Record<string, unknown>> | undefined) ?? {};
    this.ctx = {
      observatory: this.observatory,
      mergeOverlaps: h('merge_overlaps') === undefined ? true : ['TRUE', '1'].includes(String(h('merge_overlaps')).toUpperCase()),
      commentParkeys: strList(this.rawHeader('comment_parkeys') ?? []).map((n) => n.toUpperCase()),
      substitutions: { ...DEFAULT_SUBSTITUTIONS, ...rawSubs },
    };
  }

  /** Header value, JS form, as stored (no case change). */
  rawHeader(key: string): unknown {
    const v = headerGet(this.ast, key);
    return v === undefined ? undefined : pyToJs(v);
  }

  /** Header value as the library reads it (LowerCaseDict). */
  header(key: string): unknown {
    return lowerView(this.rawHeader(key));
  }

  private get parkey(): string[][] {
    return ((this.rawHeader('parkey') as unknown[] | undefined) ?? [['UNDEFINED']]).map(strList);
  }

  private get classes(): SelectorName[] {
    return strList(this.rawHeader('classes') ?? ['Match', 'UseAfter']) as SelectorName[];
  }

  private get extraKeys(): string[] {
    return strList(this.rawHeader('extra_keys') ?? []);
  }

  private get reffileSwitch(): string {
    return String(this.header('reffile_switch') ?? 'NONE').toUpperCase();
  }

  /** ReferenceMapping.get_required_parkeys(): every selector parameter, switch, extra keys. */
  requiredParkeys(): string[] {
    const keys = this.parkey.flat();
    if (this.reffileSwitch !== 'NONE') keys.push(this.reffileSwitch);
    keys.push(...this.extraKeys);
    if (this.observatory === 'jwst') keys.push('META.VISIT.TSOVISIT', 'META.INSTRUMENT.LAMP_STATE');
    return keys;
  }

  /** Parameters that are always N/A at update time (extra keys and the reffile switch). */
  extraParkeys(): string[] {
    const extra = [...this.extraKeys];
    if (this.reffileSwitch !== 'NONE') extra.push(this.reffileSwitch);
    return extra;
  }

  /** Parkeys from the reference file's point of view: plus reference_to_dataset sources. */
  referenceParkeys(): string[] {
    const keys = this.requiredParkeys();
    const r2d = this.rawHeader('reference_to_dataset') as Record<string, string> | undefined;
    if (r2d) for (const [reference, dataset] of Object.entries(r2d)) if (keys.includes(dataset)) keys.push(reference);
    return [...new Set(keys)].sort();
  }

  // -------------------------------------------------------------------------------------
  // Reference header → the dataset-vocabulary header the rmap matches on (§5.1 steps 2-7)

  /** ReferenceMapping.get_refactor_header minus reading the file: `header` is the file's header. */
  refactorHeader(header: ReferenceHeader, options: InsertOptions = {}): Record<string, string> {
    let h: Record<string, string> = { ...header };
    for (const key of this.referenceParkeys()) if (!(key in h) || h[key] === 'UNDEFINED') h[key] = 'UNDEFINED';
    h =
      this.observatory === 'jwst'
        ? jwstReferenceKeysToDatasetKeys(this, h, options)
        : hstReferenceKeysToDatasetKeys(h, options);
    h = this.expandWildcards(h, options.wildcardExpansions);
    if (this.observatory !== 'jwst') h = conditionHeader(h); // JWST: no conditioning
    h = this.mapIrrelevantParkeysToNa(h, true);
    for (const key of this.extraParkeys()) h[key] = 'N/A';
    return h;
  }

  private expandWildcards(header: Record<string, string>, expansions?: WildcardExpansions): Record<string, string> {
    const rules = expansions?.[this.instrument];
    if (!rules) return { ...header };
    const required = this.requiredParkeys();
    const expanded = { ...header };
    for (const [parkey, byExpr] of Object.entries(rules)) {
      if (!required.includes(parkey)) continue;
      for (const [expr, expansion] of Object.entries(byExpr)) {
        let applicable: boolean;
        try {
          applicable = new HeaderExpression(expr).test(header);
        } catch {
          continue; // the library logs a verbose warning and skips the rule
        }
        if (applicable) expanded[parkey] = expansion;
      }
    }
    return expanded;
  }

  /** parkey_relevance: parameters whose expression is False become N/A (comment parkeys kept). */
  private mapIrrelevantParkeysToNa(header: Record<string, string>, keepComments: boolean): Record<string, string> {
    const required = this.requiredParkeys();
    const exprs = new Map<string, string>();
    const relevance = (this.rawHeader('parkey_relevance') as Record<string, string> | undefined) ?? {};
    for (const [name, expr] of Object.entries(relevance)) exprs.set(name.toLowerCase(), expr);
    for (const name of this.ctx.commentParkeys) exprs.set(name.toLowerCase(), 'keep_comments');
    if (exprs.size === 0) return header;
    const ns: Record<string, PyObj> = {};
    for (const [k, v] of Object.entries(header)) ns[k] = v;
    for (const key of required) if (!(key in ns) || ns[key] === 'UNDEFINED') ns[key] = 'UNDEFINED';
    const evalNs: Record<string, PyObj> = { ...conditionHeaderKeys(ns), keep_comments: keepComments };
    const out = { ...header };
    for (const parkey of required) {
      const expr = exprs.get(parkey.toLowerCase());
      if (expr === undefined) continue;
      // Dotted parkeys are written META_X_Y inside expressions.
      let source = expr;
      for (const p of required) if (p.includes('.')) source = source.split(p).join(p.replace(/\./g, '_'));
      if (!new HeaderExpression(source).test(evalNs)) out[parkey] = 'N/A';
    }
    return out;
  }

  // -------------------------------------------------------------------------------------
  // Editing

  /** ReferenceMapping.insert_reference for a reference whose header is already known. */
  insertReference(ref: ReferenceToInsert, options: InsertOptions = {}): void {
    this.insertHeader(this.refactorHeader(ref.header, options), ref.basename, options.validValues);
  }

  /** Selector.insert: add or replace `value` at the path described by a dataset-vocabulary header. */
  insertHeader(header: Record<string, string>, value: string, validValues: Record<string, string[]> = {}): void {
    try {
      insertInto(this.root, header, str(value), this.parkey, this.classes, { ...this.ctx, validValues });
    } catch (err) {
      if (err instanceof CrdsError) throw err;
      throw new CrdsError(`Failed inserting '${value}' into rmap '${this.filename}': ${(err as Error).message}`);
    }
  }

  /** ReferenceMapping.delete: remove every occurrence of `terminal`; returns how many. */
  deleteReference(terminal: string): number {
    const base = terminal.split('/').pop()!;
    const count = deleteFrom(this.root, base);
    if (count === 0) throw new CrdsError(`Terminal '${base}' could not be found and deleted.`);
    return count;
  }

  /** The match paths (key per level) leading to `filename` (for duplicate-insert checks). */
  fileMatches(filename: string): string[][] {
    const out: string[][] = [];
    const walk = (node: SelectorNode, sofar: string[]) => {
      for (const e of node.entries) {
        const here = [...sofar, pyRepr(e.key)];
        if (isNode(e.value)) walk(e.value, here);
        else if (e.value.t === 'str' && e.value.v === filename) out.push(here);
      }
    };
    walk(this.root, []);
    return out;
  }

  setHeader(key: string, value: string): void {
    this.ast = withHeaderField(this.ast, key, str(value));
  }

  /** The current mapping as an AST. */
  toAst(): MappingAst {
    return { ...this.ast, selector: toCall(this.root) };
  }

  /** Canonical text with a fresh sha1sum, as Mapping.write(). */
  toText(): string {
    return withFreshChecksum(this.toAst());
  }
}

function fromCall(call: PyCall, parkey: string[][], level: number): SelectorNode {
  const entries = sortSelections(dictEntries(call.arg)).map((e) => ({
    key: e.key,
    value: e.value.t === 'call' ? fromCall(e.value, parkey, level + 1) : e.value,
  }));
  return { cls: call.name, parameters: parkey[level] ?? [], entries };
}

function toCall(node: SelectorNode): PyCall {
  return {
    t: 'call',
    name: node.cls,
    arg: {
      t: 'dict',
      entries: node.entries.map((e) => ({ key: e.key, value: isNode(e.value) ? toCall(e.value) : e.value })),
    },
  };
}

// ---------------------------------------------------------------------------------------
// Selector insertion / deletion (selectors.Selector._insert and friends)

/** MatchSelector.condition_key_element */
function conditionKeyElement(elem: PyValue): string {
  if (elem.t === 'str') {
    const s = elem.v;
    if ((s.startsWith('{') && s.endsWith('}')) || (s.startsWith('(') && s.endsWith(')'))) return s;
    if (s.includes('|')) return globList(s).map(conditionValue).join('|');
    return conditionValue(globCompress(s));
  }
  if (elem.t === 'tuple' || elem.t === 'list') return elem.items.map((v) => conditionValue(elementStr(v))).join('|');
  return conditionValue(elementStr(elem));
}

function matchConditionKey(key: PyValue): string[] {
  return key.t === 'tuple' ? key.items.map(conditionKeyElement) : [conditionKeyElement(key)];
}

/** Substituted (substitutions header + defaults) and conditioned key, as MatchSelector.keys(). */
function matchLookupKey(node: SelectorNode, key: PyValue, ctx: RmapContext): string[] {
  let k = key;
  for (const keyword of node.parameters) {
    const table = ctx.substitutions[keyword];
    if (!table) continue;
    const replace = (old: PyValue): PyValue | undefined => {
      if (old.t !== 'str' || !(old.v in table)) return undefined;
      const r = table[old.v];
      return Array.isArray(r) ? tupleOf(r.map(String)) : str(String(r));
    };
    if (k.t === 'tuple') {
      const which = node.parameters.indexOf(keyword);
      const rep = replace(k.items[which]);
      if (rep) k = { t: 'tuple', items: k.items.map((x, i) => (i === which ? rep : x)) };
    } else {
      const rep = replace(k);
      if (rep) k = rep;
    }
  }
  return matchConditionKey(k);
}

function equalKeys(node: SelectorNode, a: PyValue, b: PyValue, ctx: RmapContext): boolean {
  if (node.cls !== 'Match') return pyEquals(a, b);
  const k1 = matchConditionKey(a);
  const k2 = matchConditionKey(b);
  if (k1.length !== k2.length) return false;
  for (let i = 0; i < k1.length; i++) {
    if (ctx.commentParkeys.includes((node.parameters[i] ?? '').toUpperCase())) continue;
    if (k1[i] !== k2[i]) return false;
  }
  return true;
}

function findKey(node: SelectorNode, key: PyValue, ctx: RmapContext): number {
  return node.entries.findIndex((e) => equalKeys(node, key, e.key, ctx));
}

function headerValue(header: Record<string, string>, par: string): string {
  const v = header[par];
  if (v === undefined) throw new CrdsError(`KeyError: '${par}'`);
  return v;
}

/** Selector._make_key: the raw key a reference header gives at one level. */
function makeKey(cls: SelectorName, header: Record<string, string>, parameters: string[]): PyValue {
  if (cls === 'UseAfter' || cls === 'ClosestTime') return str(parameters.map((p) => headerValue(header, p)).join(' '));
  if (cls !== 'Match') throw new CrdsError(`Rules generation for ${cls} selectors is not supported.`);
  const items = parameters.map((p) => globCompress(headerValue(header, p)));
  return items.length === 1 ? str(items[0]) : tupleOf(items);
}

/** _validate_raw_key at insertion time: dates must parse; Match keys must not be ambiguous. */
function validateRawKey(node: SelectorNode, key: PyValue, ctx: RmapContext): void {
  if (node.cls === 'UseAfter' || node.cls === 'ClosestTime') {
    const date = key.t === 'str' ? key.v : pyRepr(key);
    try {
      reformatDate(date);
    } catch (err) {
      throw new ValidationError(
        `UseAfter Invalid date/time format for ${pyRepr(tupleOf(node.parameters))} value=${pyRepr(str(date))} exception is ${pyRepr(str((err as Error).message))}`,
      );
    }
    return;
  }
  if (node.cls !== 'Match') return;
  const items = key.t === 'tuple' ? key.items : [key];
  if (items.length !== node.parameters.length) {
    throw new ValidationError(
      `wrong length for parameter list ${pyRepr(tupleOf(node.parameters))} for key ${pyRepr(key)}`,
    );
  }
  node.parameters.forEach((name, i) => {
    const valid = ctx.validValues?.[name];
    if (ctx.commentParkeys.includes(name) || valid === undefined) return;
    for (const value of globList(elementStr(items[i]))) validateValue(name, value, valid, ctx);
  });
  const conditioned = items.map((v) => conditionValue(elementStr(v)));
  for (const e of node.entries) {
    const other = matchLookupKey(node, e.key, ctx);
    const same = other.length === conditioned.length && other.every((x, i) => x === conditioned[i]);
    if (!same && matchSuperset(other, conditioned) && !differentMatchWeight(conditioned, other)) {
      if (ctx.observatory !== 'hst' || !ctx.mergeOverlaps) {
        throw new AmbiguousMatchError(
          `Match case ${pyRepr(tupleOf(conditioned))} is an equal weight special case of ${pyRepr(tupleOf(other))}`,
        );
      }
    }
  }
}

/** Selector._validate_value for rmap update keys (runtime=False): `value` must be legal for `name`. */
function validateValue(name: string, value: string, valid: string[], ctx: RmapContext): void {
  if (valid.includes(value) || valid.includes(conditionValue(value))) return;
  if (valid.length === 0) return; // type-only constraint
  if (value.startsWith('NOT')) return validateValue(name, value.slice(3).trim(), valid, ctx);
  if (esotericKey(value) || ['*', 'ANY', 'N/A'].includes(value)) return;
  if (value.toLowerCase().startsWith('between')) {
    const [, lo, hi] = value.split(/\s+/);
    validateValue(name, lo, valid, ctx);
    validateValue(name, hi, valid, ctx);
    return;
  }
  if (valid.length === 1 && valid[0].includes(':')) {
    const [min, max] = valid[0].split(':').map(Number);
    if (min <= Number(value) && Number(value) <= max) return;
    throw new ValidationError(
      ` parameter=${pyRepr(str(name))} value =${pyRepr(str(value))} is not in range [${pyFloatRepr(min)} .. ${pyFloatRepr(max)}]`,
    );
  }
  const substitution = ctx.substitutions[name]?.[value];
  if (typeof substitution === 'string') return validateValue(name, substitution, valid, ctx);
  throw new ValidationError(` parameter=${pyRepr(str(name))} value=${pyRepr(str(value))} is not in ${pyRepr(tupleOf(valid))}`);
}

function addItem(node: SelectorNode, key: PyValue, value: SelectorNode | PyValue): void {
  node.entries.push({ key, value });
  node.entries = sortSelections(node.entries); // stable: a new key goes after equal sort keys
}

function replaceItem(node: SelectorNode, key: PyValue, value: SelectorNode | PyValue, ctx: RmapContext): void {
  const i = findKey(node, key, ctx);
  node.entries.splice(i, 1);
  addItem(node, key, value);
}

function createPath(
  header: Record<string, string>,
  value: PyValue,
  parkey: string[][],
  classes: SelectorName[],
): SelectorNode | PyValue {
  if (classes.length === 0) return value;
  const key = makeKey(classes[0], header, parkey[0] ?? []);
  const nested = createPath(header, value, parkey.slice(1), classes.slice(1));
  return { cls: classes[0], parameters: parkey[0] ?? [], entries: [{ key, value: nested }] };
}

function insertInto(
  node: SelectorNode,
  header: Record<string, string>,
  value: PyValue,
  parkey: string[][],
  classes: SelectorName[],
  ctx: RmapContext,
): void {
  const key = makeKey(node.cls, header, parkey[0] ?? []);
  validateRawKey(node, key, ctx);
  const i = findKey(node, key, ctx);
  if (classes.length > 1) {
    if (i < 0) {
      addItem(node, key, createPath(header, value, parkey.slice(1), classes.slice(1)));
    } else {
      const old = node.entries[i];
      if (isNode(old.value)) insertInto(old.value, header, value, parkey.slice(1), classes.slice(1), ctx);
      else replaceItem(node, old.key, createPath(header, value, parkey.slice(1), classes.slice(1)), ctx);
    }
  } else if (i < 0) {
    addItem(node, key, value);
  } else {
    replaceItem(node, key, value, ctx); // same path: the new file replaces the old one
  }
}

function referenceNames(node: SelectorNode): string[] {
  const out: string[] = [];
  for (const e of node.entries) {
    const v = e.value;
    if (isNode(v)) out.push(...referenceNames(v));
    else if (v.t === 'str') out.push(v.v);
    else if (v.t === 'tuple' || v.t === 'list') out.push(...v.items.map(pyStrOf));
    else if (v.t === 'dict') out.push(...v.entries.map((x) => pyStrOf(x.value)));
  }
  return out;
}

function deleteFrom(node: SelectorNode, terminal: string): number {
  let deleted = 0;
  for (let i = node.entries.length - 1; i >= 0; i--) {
    const v = node.entries[i].value;
    if (isNode(v)) {
      deleted += deleteFrom(v, terminal);
      if (referenceNames(v).length === 0) node.entries.splice(i, 1); // emptied rows disappear
    } else if (v.t === 'str' && v.v === terminal) {
      node.entries.splice(i, 1);
      deleted++;
    }
  }
  return deleted;
}

// ---------------------------------------------------------------------------------------
// Reference vocabulary → dataset vocabulary (hst/locate.py, jwst/locate.py)

function useafterOf(header: Record<string, string>, options: InsertOptions, filename: string): [string, string] {
  const useafter = header.USEAFTER ?? header['META.USEAFTER'] ?? header['ROMAN.META.USEAFTER'] ?? 'UNDEFINED';
  let formatted: string;
  try {
    formatted = reformatDate(String(useafter));
  } catch (err) {
    if (!options.allowBadUseafter) {
      throw new CrdsError(`Bad USEAFTER time format = ${pyRepr(str(String(useafter)))} in '${filename}'`);
    }
    formatted = '1900-01-01 00:00:00';
  }
  const [date, time] = formatted.split(' ');
  return [date, time];
}

function hstReferenceKeysToDatasetKeys(header: Record<string, string>, options: InsertOptions): Record<string, string> {
  const result = { ...header };
  if ('USEAFTER' in header || options.allowBadUseafter) {
    const [date, time] = useafterOf(header, options, header.FILENAME ?? '');
    result['DATE-OBS'] = result.DATE_OBS = date;
    result['TIME-OBS'] = result.TIME_OBS = time;
  }
  return result;
}

/** JWST reference headers completed with their keyword synonyms, in both directions. */
function crossStrap(header: Record<string, string>): Record<string, string> {
  const out = { ...header };
  const copy = (master: string, slave: string) => {
    const m = out[master] ?? 'UNDEFINED';
    const s = out[slave] ?? 'UNDEFINED';
    if (s === 'UNDEFINED' && m !== 'UNDEFINED') out[slave] = m;
  };
  for (const [master, slaves] of Object.entries(JWST_HEADER_SYNONYMS)) {
    for (const slave of slaves) {
      copy(master, slave);
      copy(slave, master);
    }
  }
  return out;
}


function headerInstrument(header: Record<string, string>): string | undefined {
  const key = INSTRUMENT_KEYWORDS.find((k) => k in header);
  const value = key === undefined ? undefined : header[key];
  return value === undefined || value.toUpperCase() === 'UNDEFINED' ? undefined : value;
}

function jwstReferenceKeysToDatasetKeys(
  rmap: RmapEditor,
  header: Record<string, string>,
  options: InsertOptions,
): Record<string, string> {
  let h = { ...header };
  const translations: Record<string, string> = {
    ...JWST_PATTERN_TRANSLATIONS,
    ...((rmap.rawHeader('reference_to_dataset') as Record<string, string> | undefined) ?? {}),
  };
  // Take the reference's pattern value only when it is defined and differs.
  for (const rkey of Object.keys(translations).sort()) {
    if (!(rkey in header)) continue;
    const dkey = translations[rkey];
    const rval = header[rkey];
    if (rval !== 'UNDEFINED' && rval !== header[dkey]) h[dkey] = rval;
  }
  // Synonyms are filled in only when the header names its instrument (utils.header_to_locator).
  if (headerInstrument(h) !== undefined) h = crossStrap(h);
  if (!('SUBARRAY' in h)) h.SUBARRAY = h['META.SUBARRAY.NAME'] = 'UNDEFINED';
  if (!('EXP_TYPE' in h)) h.EXP_TYPE = h['META.EXPOSURE.TYPE'] = 'UNDEFINED';
  if (!('USEAFTER' in h) && 'META.USEAFTER' in h) h.USEAFTER = h['META.USEAFTER'];
  if ('USEAFTER' in h || options.allowBadUseafter) {
    const [date, time] = useafterOf(h, options, h.FILENAME ?? rmap.filename);
    h['DATE-OBS'] = h['META.OBSERVATION.DATE'] = date;
    h['TIME-OBS'] = h['META.OBSERVATION.TIME'] = time;
  }
  return h;
}

// ---------------------------------------------------------------------------------------
// Whole-rmap operations (crds.refactoring.refactor)

export interface RmapUpdateResult {
  text: string;
  /** ERROR messages the library would log (two inserted files on one identical match path). */
  errors: string[];
}

/**
 * rmap_insert_references + update_derivation: insert (or replace) each reference, then set
 * `derived_from` to the old rmap and, when `newName` is given, `name` to the new one.
 */
export function rmapInsertReferences(
  oldText: string,
  oldName: string,
  references: ReferenceToInsert[],
  options: InsertOptions & { newName?: string } = {},
): RmapUpdateResult {
  const rmap = new RmapEditor(oldText, oldName);
  const insertedCases = new Map<string, string>();
  const errors: string[] = [];
  for (const ref of references) {
    rmap.insertReference(ref, options);
    for (const path of rmap.fileMatches(ref.basename)) {
      const case_ = path.join(' / ');
      const other = insertedCases.get(case_);
      if (other === undefined) insertedCases.set(case_, ref.basename);
      else errors.push(`Both '${ref.basename}' and '${other}' identically match case: ${case_}`);
    }
  }
  finishDerivation(rmap, oldName, options.newName);
  return { text: rmap.toText(), errors };
}

/** rmap_delete_references + update_derivation. */
export function rmapDeleteReferences(
  oldText: string,
  oldName: string,
  deleted: string[],
  options: { newName?: string } = {},
): string {
  const rmap = new RmapEditor(oldText, oldName);
  for (const name of deleted) rmap.deleteReference(name);
  finishDerivation(rmap, oldName, options.newName);
  const text = rmap.toText();
  for (const name of deleted) {
    if (text.includes(name.split('/').pop()!)) {
      throw new CrdsError(`Rules update failure.  Deleted '${name}' still appears in new rmap.`);
    }
  }
  return text;
}

function finishDerivation(rmap: RmapEditor, oldName: string, newName?: string): void {
  rmap.setHeader('derived_from', basename(oldName));
  if (newName) rmap.setHeader('name', basename(newName));
}

function basename(name: string): string {
  return name.split('/').pop()!;
}

// ---------------------------------------------------------------------------------------
// New context chain (crds.refactoring.newcontext)

/** Series prefix and serial of a mapping name: `hst_acs_0421.imap` → `hst_acs`, 421. */
function splitSerial(name: string): { stem: string; serial?: number; ext: string } | undefined {
  const m = /^(.*?)(?:_(\d+))?\.([pir]map)$/.exec(basename(name));
  if (!m) return undefined;
  return { stem: m[1], serial: m[2] === undefined ? undefined : Number(m[2]), ext: m[3] };
}

/**
 * The next name of a mapping series, as newcontext.fake_name: highest existing serial of
 * `<stem>_*.<ext>` among `existing` + 1, formatted %04d, skipping names already taken.
 */
export function nextMappingName(oldName: string, existing: Iterable<string>): string {
  const names = new Set([...existing].map(basename));
  const parts = splitSerial(oldName);
  if (!parts) throw new CrdsError(`Unrecognized mapping filename '${oldName}'`);
  let candidate: string;
  if (parts.serial === undefined) {
    candidate = `${parts.stem}_0001.${parts.ext}`;
    candidate = nextMappingName(candidate, names);
  } else {
    // The library globs `<stem>_*.<ext>` and takes the last name's serial; numbered names
    // only here, so a stray fixture such as `hst_acs_darkfile_missing_key.rmap` is ignored.
    const series = new RegExp(`^${escapeRegExp(parts.stem)}_(\\d+)\\.${parts.ext}$`);
    let highest = -1;
    for (const n of names) {
      const m = series.exec(n);
      if (m) highest = Math.max(highest, Number(m[1]));
    }
    candidate = highest < 0 ? basename(oldName) : `${parts.stem}_${String(highest + 1).padStart(4, '0')}.${parts.ext}`;
    if (highest < 0) return candidate;
  }
  // Recurse until a free name, like the library.
  return names.has(candidate) ? nextMappingName(candidate, names) : candidate;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** (instrument, filekind) of an rmap/imap name `<obs>_<instr>[_<filekind>][_NNNN].?map`. */
export function mappingNameProperties(name: string): { observatory: string; instrument: string; filekind: string } {
  const parts = splitSerial(name);
  if (!parts) throw new CrdsError(`Unrecognized mapping filename '${name}'`);
  const fields = parts.stem.split('_');
  return { observatory: fields[0] ?? '', instrument: fields[1] ?? '', filekind: fields.slice(2).join('_') };
}

/** Loads a mapping's text by basename (from the store, the cache, or new files). */
export type MappingLoader = (name: string) => string;

export interface NewContextResult {
  /** Old name → new name for the pmap and each updated imap. */
  names: Record<string, string>;
  /** New mapping texts by name (the pmap first, then imaps). */
  files: { name: string; text: string }[];
  /** What each context update did, for the submission's report. */
  actions: string[];
}

/** ContextMapping.set_item on a plain-dict selector; returns the replaced value if any. */
function setContextItem(ast: MappingAst, key: string, value: string): { ast: MappingAst; replaced?: string } {
  if (ast.selector.t !== 'dict') throw new MappingFormatError('Context mapping selector must be a dict.');
  const entries = dictEntries(ast.selector);
  const i = entries.findIndex((e) => e.key.t === 'str' && e.key.v === key);
  let replaced: string | undefined;
  if (i >= 0) {
    const old = entries[i].value;
    replaced = old.t === 'str' ? old.v : pyRepr(old);
    entries[i] = { key: entries[i].key, value: str(value) };
  } else {
    entries.push({ key: str(key), value: str(value) });
  }
  return { ast: { ...ast, selector: { t: 'dict', entries } }, replaced };
}

/**
 * newcontext.new_context + update_header_names with names from `nameFor` (the server's
 * counters, or `nextMappingName` over the mappings folder): install `newRmaps` (rmap names,
 * or `<instrument>_<filekind>_n/a` to set a type N/A) into new imaps and a new pmap.
 */
export function newContext(
  oldPmap: string,
  newRmaps: string[],
  load: MappingLoader,
  nameFor: (oldName: string) => string,
): NewContextResult {
  const pmapAst = parseMapping(load(oldPmap), oldPmap);
  const observatory = String(pyToJs(headerGet(pmapAst, 'observatory')!)).toLowerCase();
  if (pmapAst.selector.t !== "dict") throw new MappingFormatError(`${oldPmap} selector must be a dict.`);
  const pmapSelections = dictEntries(pmapAst.selector);
  const imapOf = (instrument: string): string => {
    const e = pmapSelections.find((x) => x.key.t === 'str' && x.key.v.toLowerCase() === instrument.toLowerCase());
    if (!e || e.value.t !== 'str') throw new CrdsError(`Unknown instrument '${instrument}' for context '${oldPmap}'`);
    return e.value.v;
  };
  // get_update_map: old imap → its updates, in sorted update order
  const updates = new Map<string, string[]>();
  for (const update of [...newRmaps].sort()) {
    const instrument = /_n\/a$/i.test(update) ? update.split('_')[0] : mappingNameProperties(update).instrument;
    const imap = imapOf(instrument);
    const list = updates.get(imap) ?? [];
    if (list.includes(update)) throw new CrdsError(`Duplicate update for '${update}'`);
    list.push(update);
    updates.set(imap, list);
  }
  const names: Record<string, string> = { [oldPmap]: nameFor(oldPmap) };
  for (const imap of [...updates.keys()].sort()) names[imap] = nameFor(imap);

  const actions: string[] = [];
  const hackInNewMaps = (old: string, updated: string[], keyOf: (m: string) => string): MappingAst => {
    let ast = parseMapping(load(old), old);
    for (const mapping of [...updated].sort()) {
      let key: string;
      let replacement: string;
      if (/_n\/a$/i.test(mapping)) {
        key = observatory === 'jwst' ? mapping.split('_')[1].toUpperCase() : mapping.split('_')[1].toLowerCase();
        replacement = mapping.split('_')[2].toUpperCase();
      } else {
        key = keyOf(mapping);
        replacement = mapping;
      }
      const r = setContextItem(ast, key, basename(replacement));
      ast = r.ast;
      actions.push(
        r.replaced !== undefined
          ? `Replaced '${r.replaced}' with '${replacement}' for '${key}' in '${old}' producing '${names[old]}'`
          : `Added '${replacement}' for '${key}' in '${old}' producing '${names[old]}'`,
      );
    }
    return ast;
  };
  // imap keys: HST lower-case filekind, JWST upper-case; pmap keys: upper-case instrument.
  const typeKey = (m: string) => {
    const fk = mappingNameProperties(m).filekind;
    return observatory === 'jwst' ? fk.toUpperCase() : fk.toLowerCase();
  };
  const instrumentKey = (m: string) => mappingNameProperties(m).instrument.toUpperCase();
  const produced = new Map<string, MappingAst>();
  for (const imap of [...updates.keys()].sort()) produced.set(imap, hackInNewMaps(imap, updates.get(imap)!, typeKey));
  const newImapNames = [...updates.keys()].sort().map((i) => names[i]);
  produced.set(oldPmap, hackInNewMaps(oldPmap, newImapNames, instrumentKey));

  // update_header_names: derived_from = old, name = new, rewritten with a fresh checksum.
  const files: { name: string; text: string }[] = [];
  for (const old of [oldPmap, ...[...updates.keys()].sort()]) {
    let ast = produced.get(old)!;
    ast = withHeaderField(ast, 'derived_from', str(basename(old)));
    ast = withHeaderField(ast, 'name', str(basename(names[old])));
    files.push({ name: names[old], text: withFreshChecksum(ast) });
  }
  return { names, files, actions };
}
